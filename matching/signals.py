"""What matching announces to the app above it, which it may not import (contract `consultations-on-top`).

`offers_answered(sender=Offer, therapist_ids=[...], now=...)`: offers to these therapists were
accepted, declined, expired or withdrawn, so how they answer requests may read differently.
Sent inside the writing transaction, so a receiver's writes commit or roll back with it;
`consultations` measures those therapists again (consultations/receivers.py).
"""

from django.dispatch import Signal

offers_answered = Signal()
