from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    # Rate-limit counters (listing reports) live in the cache; each test starts with none.
    cache.clear()
