"""The search index: a read model of the published directory, and the only way to read it.

Everything about it lives in this package: its table (`models`), how a
therapist's entries and listing card are built and kept true (`index`), the
card format (`cards`), the query planner and its SQL (`query`), and
matching's read of the therapists in reach (`reach`). Code outside uses the
names below and nothing else:

- `refresh(therapist_ids)`: rebuild what search shows of these therapists
  from the tables; the services call it after every write that changes it.
- `Query` and `page(query, number=, size=, cards=)`: a page of results, its count exact up to
  `COUNT_THRESHOLD`.
- `cards_of(therapist_ids)`, `result(...)`, `result_json(...)`: results as the API shows them.
- `candidates_in_reach(...)` and the `conditions` it takes: matching's candidates; `candidates_by_bound(...)`
  reads them best bound of the score first (`ScoreTerms`), in batches.
- `suggest(query, radius_steps=)`: for a search that found nobody, what each parameter left out,
  a larger radius, online sessions and the nearest match (`Suggestions`).
- `build_entries`, `build_card`: for loading many therapists in bulk; `build_entry_rows`, the entries as
  plain field values, and `ProfileWordIds`, the word ids PostgreSQL's text index keeps of them, for loading
  millions.
- `index_unindexed`, `cards_are_stale`: after `migrate`, what older code left behind.
"""

from directory.search import conditions
from directory.search.cards import build_card, result, result_json
from directory.search.conditions import Condition
from directory.search.index import (
    ProfileWordIds,
    build_entries,
    build_entry_rows,
    cards_are_stale,
    index_unindexed,
    refresh,
)
from directory.search.query import COUNT_THRESHOLD, Hit, PageNotFound, Query, ResultCard, ResultPage, cards_of, page
from directory.search.reach import (
    BoundedReach,
    CandidateRow,
    InReach,
    ScoreTerms,
    candidates_by_bound,
    candidates_in_reach,
)
from directory.search.suggest import Nearest, Suggestions, suggest

__all__ = [
    "COUNT_THRESHOLD",
    "BoundedReach",
    "CandidateRow",
    "Condition",
    "Hit",
    "InReach",
    "Nearest",
    "PageNotFound",
    "ProfileWordIds",
    "Query",
    "ResultCard",
    "ResultPage",
    "ScoreTerms",
    "Suggestions",
    "build_card",
    "build_entries",
    "build_entry_rows",
    "candidates_by_bound",
    "candidates_in_reach",
    "cards_are_stale",
    "cards_of",
    "conditions",
    "index_unindexed",
    "page",
    "refresh",
    "result",
    "result_json",
    "suggest",
]
