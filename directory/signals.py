"""What the directory announces to the apps above it, which it may not import (contract `directory-below-matching`).

`therapist_unavailable(sender=Therapist, therapist=...)`: the therapist can no longer
answer referrals, because staff suspended the listing or deactivated the therapist's
account. It is sent inside the writing transaction, so a receiver's writes commit or
roll back with it. `matching` withdraws the therapist's open offers (matching/apps.py).

`demo_loaded(sender=Therapist, now=...)`: `manage.py load_demo` loaded the demo directory.
`consultations` gives some demo therapists a history of requests answered and not
(consultations/receivers.py), so the responsiveness measure shows on the demo.
"""

from django.dispatch import Signal

therapist_unavailable = Signal()
demo_loaded = Signal()
