"""The HSDS query parameters, parsed strictly: a bad value is a 400 naming the parameter."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from interop.hsds import ids
from interop.hsds import vocabulary as terms
from interop.hsds.selectors import Filters

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_SEARCH_LENGTH = 200
BOOLEANS = {"true": True, "false": False}


class InvalidParameters(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class ListQuery:
    page: int
    per_page: int
    full: bool
    filters: Filters


def parse_list_query(params: QueryDict, *, filterable: bool = True) -> ListQuery:
    """`page`, `per_page`, `full` and `search`; on the lists of services, organizations and
    service_at_locations also `taxonomy_term_id`, `modified_after` and `organization_id`."""
    errors: dict[str, list[str]] = {}

    def field(name: str, parse: object) -> object:
        raw = params.get(name, "")
        try:
            return parse(raw) if raw != "" else None
        except ValueError as error:
            errors[name] = [str(error)]
            return None

    page = field("page", lambda raw: bounded_int(raw, 1, None))
    per_page = field("per_page", lambda raw: bounded_int(raw, 1, MAX_PER_PAGE))
    full = field("full", parse_boolean)
    search = field("search", parse_search) or ""
    term = field("taxonomy_term_id", parse_term) if filterable else None
    modified_after = field("modified_after", parse_moment) if filterable else None
    organization = field("organization_id", parse_uuid) if filterable else None
    if errors:
        raise InvalidParameters(errors)
    return ListQuery(
        page=page or 1,
        per_page=per_page or DEFAULT_PER_PAGE,
        full=bool(full),
        filters=Filters(
            search=search,
            term=term,
            modified_after=modified_after,
            therapist_public_id=ids.unlinked(organization, ids.ORGANIZATION) if organization else None,
        ),
    )


def bounded_int(raw: str, low: int, high: int | None) -> int:
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError("Expected a whole number.")
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise ValueError(f"Expected {low} to {high}." if high else f"Expected {low} or more.")
    return value


def parse_boolean(raw: str) -> bool:
    if raw not in BOOLEANS:
        raise ValueError("Expected true or false.")
    return BOOLEANS[raw]


def parse_search(raw: str) -> str:
    if len(raw) > MAX_SEARCH_LENGTH:
        raise ValueError(f"At most {MAX_SEARCH_LENGTH} characters.")
    if "\x00" in raw:
        raise ValueError("Contains a NUL character.")
    return raw


def parse_uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValueError("Expected a UUID.") from None


def parse_term(raw: str) -> terms.Term:
    term = terms.terms_by_id().get(parse_uuid(raw))
    if term is None:
        raise ValueError("Unknown taxonomy term: see /api/hsds/taxonomy_terms.")
    return term


def parse_moment(raw: str) -> datetime.datetime:
    """An ISO 8601 date or date-time; without an offset it is read as UTC."""
    try:
        moment = parse_datetime(raw)
        if moment is None and (day := parse_date(raw)) is not None:
            moment = datetime.datetime.combine(day, datetime.time())
    except ValueError:
        moment = None  # well formed but impossible, such as 2026-02-30
    if moment is None:
        raise ValueError("Expected an ISO 8601 date or date-time, such as 2026-01-31 or 2026-01-31T09:00:00Z.")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=datetime.UTC)
