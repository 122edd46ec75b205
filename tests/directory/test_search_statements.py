"""On PostgreSQL a page near a place is read by prepared statements, each planned once per connection (issue 20):
a generic plan, not one per search. Nothing else is prepared, so every other query keeps a plan made for its values."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory import search
from directory.models import Therapist
from directory.search import statements
from tests.directory.test_bounded_search import in_billings
from tests.drawn import CENTER

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"),
]


def prepared() -> dict[str, tuple[int, int]]:
    """This connection's prepared statements: their text, with how often each used a generic and a custom plan."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {statement: (generic, custom) for statement, generic, custom in cursor.fetchall()}


def new_statements(before: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The statements prepared, or used again, since `before`."""
    return {statement: plans for statement, plans in prepared().items() if before.get(statement) != plans}


def test_a_page_near_a_place_is_planned_once_and_its_queries_still_counted() -> None:
    in_billings(5)
    query = search.Query(place=CENTER, radius_miles=25)
    before = prepared()

    with CaptureQueriesContext(connection) as first:
        page = search.page(query, size=2, exact_up_to=3, cards=True)
    with CaptureQueriesContext(connection) as again:
        assert search.page(query, size=2, exact_up_to=3, cards=True).therapist_ids == page.therapist_ids

    used = new_statements(before)
    assert len(first.captured_queries) == len(again.captured_queries) == 2  # the count, then the nearer ring
    # Logged as any other query: the text with its values in place.
    assert all("directory_searchentry" in query["sql"] and "%s" not in query["sql"] for query in again.captured_queries)
    assert len(used) == 2
    assert all("directory_searchentry" in statement for statement in used)
    # Each was planned once, generically, and that plan served both searches: no search was planned for its values.
    for statement, (generic, custom) in used.items():
        assert (generic - before.get(statement, (0, 0))[0], custom) == (2, 0)
    assert (page.count, page.count_is_exact, len(page.hits)) == (3, False, 2)


def test_nothing_else_is_prepared() -> None:
    in_billings(3)
    before = prepared()

    for _ in range(6):  # psycopg's default would prepare a statement from its sixth run
        search.page(search.Query(state="MT"), cards=True)  # without a place: the ORM's name-ordered page
        Therapist.objects.filter(last_name__startswith="T").count()

    assert new_statements(before) == {}


def test_turned_off_the_search_prepares_nothing(settings) -> None:
    settings.SEARCH_PREPARED_STATEMENTS = False
    in_billings(3)
    before = prepared()

    for _ in range(3):
        search.page(search.Query(place=CENTER, radius_miles=25), cards=True)

    assert new_statements(before) == {}


def test_prepared_statements_keep_a_generic_plan() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_generic_plan"


def test_a_statement_runs_with_its_placeholders_numbered_once_and_a_literal_percent_kept() -> None:
    """psycopg numbers `%s` itself only for statements under 4 KB; the search's are longer, numbered once each."""
    assert statements.numbered("SELECT %s, '100%%' LIKE %s WHERE a = %s") == "SELECT $1, '100%' LIKE $2 WHERE a = $3"
    long = "SELECT %s::int + %s::int, 'a%%'" + " " * 5000
    before = statements.numbered.cache_info()

    with statements.cursor() as cursor:
        cursor.execute(long, [1, 2])
        assert cursor.fetchone() == (3, "a%")
        cursor.execute(long, [3, 4])
        assert cursor.fetchone() == (7, "a%")
    after = statements.numbered.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)  # numbered on the first run only
