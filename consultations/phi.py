"""The PHI access log for consultation requests: who saw which client's details, when, through what."""

from __future__ import annotations

from collections.abc import Iterable

from consultations.models import ConsultationRequest
from matching.models import PHIAccess


def log_each(*, user: object, reads: Iterable[tuple[ConsultationRequest, Iterable[str]]], channel: str) -> None:
    """Record that `user` saw, of each request, the fields paired with it (one INSERT for a whole list)."""
    PHIAccess.objects.bulk_create(
        PHIAccess(user=user, consultation_request=request.pk, fields=",".join(fields), channel=channel[:40])
        for request, fields in reads
    )
