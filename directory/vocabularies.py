"""The small reference tables (insurers, focus areas, concerns, languages), read once per process."""

from __future__ import annotations

from django.db.models import Model

_reference_rows: dict[tuple[str, str], dict[str, Model]] = {}


def reference_rows(model: type[Model], key: str) -> dict[str, Model]:
    """Every row of a small reference table by slug (or code), read once per process.

    Validating `insurance=aetna` then costs no query; saving or deleting a
    reference row empties the cache (see `DirectoryConfig.ready`).
    """
    cache_key = (model._meta.label, key)
    if cache_key not in _reference_rows:
        _reference_rows[cache_key] = {str(getattr(row, key)): row for row in model._default_manager.all()}
    return _reference_rows[cache_key]


def forget_reference_rows(**_: object) -> None:
    _reference_rows.clear()
