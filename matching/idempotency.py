"""Idempotency-Key: a write that creates runs once per caller and key (docs/api.md, "Idempotency").

The key's row is inserted first, in the transaction that then does the write and
records its referral. The unique (user, key) constraint serialises simultaneous
requests: on PostgreSQL the second INSERT waits on the first's row until it
commits, then fails and reads the stored answer; on SQLite (IMMEDIATE
transactions) the second request starts only after the first committed. A write
that fails rolls its key back with it, so nothing but a success is remembered and
the client may fix its request and retry with the same key.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from matching.models import IdempotencyKey, Referral

HEADER = "Idempotency-Key"
# Printable ASCII, as an HTTP header carries it safely; a UUID is the usual choice.
KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,255}")
KEY_RULE = "1 to 255 printable ASCII characters, e.g. a UUID"


class KeyInvalid(Exception):
    """The header is empty, too long or holds characters other than printable ASCII (HTTP 400)."""


class KeyReused(Exception):
    """The caller's key was first used for another request (HTTP 422)."""


class KeyBusy(Exception):
    """A request with this key has just been stored and is not readable yet (HTTP 409); retrying is safe."""


@dataclass(frozen=True)
class Outcome:
    """What a keyed write did: the referral it concerns, its status code, and whether it was replayed."""

    referral_id: uuid.UUID
    status_code: int
    replayed: bool


def checked_key(raw: str | None) -> str | None:
    """The header's key, None without one; KeyInvalid when it breaks KEY_RULE."""
    if raw is None:
        return None
    if not KEY_PATTERN.fullmatch(raw) or not raw.strip():
        raise KeyInvalid(f"Send {KEY_RULE}.")
    return raw


def _digest(purpose: str, value: str) -> str:
    # Keyed with SECRET_KEY: a copy of the table alone cannot be matched against guessed patient data.
    return salted_hmac(f"matching.idempotency.{purpose}", value, algorithm="sha256").hexdigest()


def fingerprint(*, method: str, path: str, body: object) -> str:
    """The request as far as idempotency cares: method, path and the parsed JSON body, keys sorted."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return _digest("request", f"{method.upper()}\n{path}\n{canonical}")


def retention_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Delete every key older than IDEMPOTENCY_KEY_HOURS; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=retention_cutoff(now)).delete()
    return deleted


def _stored(user: object, key_digest: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(user=user, key_digest=key_digest).first()


def _claim(user: object, key_digest: str, request_fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """The key's row and whether this request inserted it; waits for a request holding the same key."""
    if (stored := _stored(user, key_digest)) is not None:
        return stored, False
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                user=user, key_digest=key_digest, fingerprint=request_fingerprint
            ), True
    except IntegrityError:
        # Another request inserted the key and committed while this one waited: its answer is readable now.
        if (stored := _stored(user, key_digest)) is not None:
            return stored, False
        raise KeyBusy("A request with this Idempotency-Key was being stored; retry it.") from None


def run_once(
    *,
    user: object,
    key: str,
    request_fingerprint: str,
    write: Callable[[], Referral],
    status_code: int,
    now: datetime.datetime | None = None,
) -> Outcome:
    """Run `write` once for this caller and key, or return what its first run answered.

    Raises KeyReused when the key was first sent with another request (another
    fingerprint). Whatever `write` raises propagates, and the key is forgotten
    with the rest of the transaction.
    """
    # Housekeeping in its own short transaction: expired keys of every caller go (see docs/operations.md).
    purge_expired(now=now)
    key_digest = _digest("key", key)
    with transaction.atomic():
        # A key that expired since the purge above is as good as gone.
        IdempotencyKey.objects.filter(user=user, key_digest=key_digest, created_at__lt=retention_cutoff(now)).delete()
        row, inserted = _claim(user, key_digest, request_fingerprint)
        if row.fingerprint != request_fingerprint:
            raise KeyReused(
                f"This {HEADER} was first used with another request; use a new key for a different request."
            )
        if not inserted:
            return Outcome(referral_id=row.referral_id, status_code=row.status_code, replayed=True)
        referral = write()
        IdempotencyKey.objects.filter(pk=row.pk).update(referral=referral, status_code=status_code)
        return Outcome(referral_id=referral.pk, status_code=status_code, replayed=False)
