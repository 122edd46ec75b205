"""The outbox: every email is a row written in the sender's transaction and delivered by the task worker.

A low layer: directory, matching and accounts may import it; it imports none of them.
"""
