"""What consultations does when the apps below it announce a change (they may not import it).

Each receiver calls one service; the signals are sent inside the writing
transaction, so the writes here commit or roll back with the change announced.
"""

from __future__ import annotations

import datetime

from consultations import demo, measures


def measure_after_offers(sender: type, *, therapist_ids: list[int], now: datetime.datetime, **_: object) -> None:
    """Offers were answered, expired or withdrawn (`matching.signals.offers_answered`): measure them again."""
    measures.refresh_measures(therapist_ids, now=now)


def add_demo_history(sender: type, *, now: datetime.datetime, **_: object) -> None:
    """The demo directory was loaded (`directory.signals.demo_loaded`): its requests' history too."""
    demo.load_history(now=now)
