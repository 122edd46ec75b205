"""Referrals and their matches (see issue 3)."""
