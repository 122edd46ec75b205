"""Roster import: a CSV of therapists into the directory, through the same services as self-service."""
