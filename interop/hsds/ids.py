"""The stable UUIDs the HSDS API publishes, and how each is derived.

- A service is a therapist: its id is `Therapist.public_id`. A location is an
  office: `Office.public_id`.
- Objects with a page of their own but no row (a therapist's organization, an
  office's service_at_location) get a *reversible* id: the row's public id with
  fixed bits flipped (`linked`), so `/organizations/{id}` finds its therapist
  in one indexed query. The version and variant bits are left alone, so the
  result is still a version-4 UUID.
- Objects shown only inside another (phones, addresses, languages, cost
  options, service areas, attributes) are `linked` to their owner's public id
  the same way, with a kind naming the object ("phone", "attribute:<term id>").
- The taxonomies and their terms, which belong to no row, get name-based ids
  (`uuid5`) under this project's namespace.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:ipt-directory:hsds")
# The version nibble (bits 76-79) and the variant bits (62-63) of a UUID.
_VERSION_AND_VARIANT = (0xF << 76) | (0x3 << 62)


@lru_cache(maxsize=4096)
def _mask(kind: str) -> int:
    return uuid.uuid5(NAMESPACE, f"mask:{kind}").int & ~_VERSION_AND_VARIANT


def linked(public_id: uuid.UUID, kind: str) -> uuid.UUID:
    """The id of the `kind` object that belongs to the row `public_id`; `unlinked` undoes it."""
    return uuid.UUID(int=public_id.int ^ _mask(kind))


def linked_text(public_id: uuid.UUID, kind: str) -> str:
    """`linked` as text, formatted directly: a page of full services holds thousands of these ids."""
    digits = f"{public_id.int ^ _mask(kind):032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def unlinked(object_id: uuid.UUID, kind: str) -> uuid.UUID:
    return linked(object_id, kind)  # flipping the same bits twice gives the row's id back


def named(*parts: object) -> uuid.UUID:
    """A name-based id: the same parts always give the same UUID."""
    return uuid.uuid5(NAMESPACE, ":".join(str(part) for part in parts))


ORGANIZATION = "organization"
SERVICE_AT_LOCATION = "service_at_location"
