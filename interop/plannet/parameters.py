"""The FHIR search parameters each resource type takes, parsed strictly: anything else is a 400 naming it.

`PARAMETERS` is the one table of what is implemented: the parser accepts
exactly these (plus the result parameters `_count`, `_offset`, `_format` and,
on PractitionerRole, `_include`), and the CapabilityStatement lists exactly these.
Within one parameter, comma-separated values are any-of; a repeated parameter
is all-of, as FHIR says.
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass, field

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from directory.filters import DEFAULT_RADIUS_MILES, MAX_RADIUS_MILES
from interop.plannet import vocabulary as v

DEFAULT_COUNT = 20
MAX_COUNT = 100
FORMATS = ("json", "application/json", "application/fhir+json", "fhir+json")
CORE = "http://hl7.org/fhir/SearchParameter"
PLAN_NET_PARAMETER = f"{v.PLAN_NET}/SearchParameter"
MILES_PER_KILOMETRE = 1 / 1.609344


class ParameterError(ValueError):
    """A bad search parameter: the 400's message, which names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # the FHIR search parameter type: token, reference, string, date, special
    documentation: str
    definition: str
    target: str = ""  # a reference's resource type


ID = Parameter("_id", "token", "The resource's id; comma-separate for any of several", f"{CORE}/Resource-id")
LAST_UPDATED = Parameter(
    "_lastUpdated",
    "date",
    "When the therapist's profile last changed; prefixes eq (default), gt, ge, lt, le; repeat for a range",
    f"{CORE}/Resource-lastUpdated",
)
PARAMETERS: dict[str, tuple[Parameter, ...]] = {
    "Practitioner": (ID, LAST_UPDATED),
    "PractitionerRole": (
        ID,
        LAST_UPDATED,
        Parameter(
            "specialty",
            "token",
            "A NUCC taxonomy code, alone or as http://nucc.org/provider-taxonomy|code",
            f"{PLAN_NET_PARAMETER}/practitionerrole-specialty",
        ),
        Parameter(
            "location", "reference", "Roles at this office (Location id)",
            f"{PLAN_NET_PARAMETER}/practitionerrole-location", "Location",
        ),
        Parameter(
            "practitioner", "reference", "The role of this practitioner (Practitioner id)",
            f"{PLAN_NET_PARAMETER}/practitionerrole-practitioner", "Practitioner",
        ),
        Parameter(
            "network", "reference", "Roles in this insurer's network (a Network Organization id)",
            f"{PLAN_NET_PARAMETER}/practitionerrole-network", "Organization",
        ),
    ),
    "Location": (
        ID,
        LAST_UPDATED,
        Parameter(
            "address-postalcode", "string", "ZIP code, starting with the value",
            f"{CORE}/Location-address-postalcode",
        ),
        Parameter(
            "address-state", "string", "Two-letter state, starting with the value (case-insensitive)",
            f"{CORE}/Location-address-state",
        ),
        Parameter(
            "near", "special",
            f"latitude|longitude|distance|units (mi or km; default {DEFAULT_RADIUS_MILES} mi, at most "
            f"{MAX_RADIUS_MILES} mi): offices within the distance, nearest first, each with its distance",
            f"{CORE}/Location-near",
        ),
    ),
    "Organization": (ID,),
    "HealthcareService": (ID,),
    "InsurancePlan": (ID,),
}  # fmt: skip
INCLUDES = {"PractitionerRole": ("PractitionerRole:practitioner", "PractitionerRole:location")}
RESULT_PARAMETERS = ("_count", "_offset", "_format")


@dataclass(frozen=True)
class Interval:
    """A `_lastUpdated` condition: the moments from `start` (inclusive), to `end` (exclusive), or both."""

    start: datetime.datetime | None
    end: datetime.datetime | None


@dataclass(frozen=True)
class Near:
    latitude: float
    longitude: float
    miles: float


@dataclass
class Search:
    """One parsed search: each parameter's values, all-of across repeats and any-of within one."""

    resource_type: str
    values: dict[str, list[list[str]]] = field(default_factory=dict)
    updated: list[Interval] = field(default_factory=list)
    near: Near | None = None
    count: int = DEFAULT_COUNT
    offset: int = 0
    includes: tuple[str, ...] = ()


def parse(resource_type: str, query: QueryDict) -> Search:
    """The search these query parameters ask for, or a ParameterError naming the first bad one."""
    known = {parameter.name: parameter for parameter in PARAMETERS[resource_type]}
    search = Search(resource_type)
    for name in query:
        raws = query.getlist(name)
        if name in RESULT_PARAMETERS:
            _parse_result_parameter(search, name, raws)
        elif name == "_include" and resource_type in INCLUDES:
            search.includes = tuple(dict.fromkeys(_include(resource_type, raw) for raw in raws))
        elif name not in known:
            accepted = ", ".join([*known, *RESULT_PARAMETERS, *(["_include"] if resource_type in INCLUDES else [])])
            raise ParameterError(name, f"not a search parameter of {resource_type} here; these are: {accepted}.")
        elif name == "_lastUpdated":
            search.updated = [_interval(raw) for raw in raws]
        elif name == "near":
            if len(raws) > 1:
                raise ParameterError(name, "give one place.")
            search.near = _near(raws[0])
        else:
            search.values[name] = [_values(known[name], raw) for raw in raws]
    return search


def check_read_parameters(query: QueryDict) -> None:
    """A read (and `metadata`) takes `_format` (JSON) and nothing else."""
    for name in query:
        if name != "_format":
            raise ParameterError(name, "a read takes no parameter but _format.")
        _parse_result_parameter(Search(""), name, query.getlist(name))


def _parse_result_parameter(search: Search, name: str, raws: list[str]) -> None:
    if len(raws) > 1:
        raise ParameterError(name, "give it once.")
    raw = raws[0].strip()
    if name == "_format":
        if raw not in FORMATS:
            raise ParameterError(name, "only JSON is served (json or application/fhir+json).")
    elif name == "_count":
        search.count = _whole_number(name, raw, minimum=1, maximum=MAX_COUNT)
    else:
        search.offset = _whole_number(name, raw, minimum=0)


def _whole_number(name: str, raw: str, *, minimum: int, maximum: int | None = None) -> int:
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
        raise ParameterError(name, f"must be a whole number from {minimum}.")
    if maximum is not None and int(raw) > maximum:
        raise ParameterError(name, f"must be at most {maximum}.")
    return int(raw)


def _include(resource_type: str, raw: str) -> str:
    if raw not in INCLUDES[resource_type]:
        raise ParameterError("_include", f"{raw!r} is not supported; use {' or '.join(INCLUDES[resource_type])}.")
    return raw


def _values(parameter: Parameter, raw: str) -> list[str]:
    values = [part.strip() for part in raw.split(",") if part.strip()]
    if not values:
        raise ParameterError(parameter.name, "needs a value.")
    if parameter.type == "reference":
        return [_reference_id(parameter, value) for value in values]
    if parameter.name == "specialty":
        return [_specialty_code(value) for value in values]
    return values


def _reference_id(parameter: Parameter, value: str) -> str:
    """The id in `Type/id`, a full URL ending so, or a bare id; another resource type is a 400."""
    parts = value.rstrip("/").split("/")
    if len(parts) > 1 and parts[-2] != parameter.target:
        raise ParameterError(parameter.name, f"refers to {parameter.target} resources, not {parts[-2]}.")
    return parts[-1]


def _specialty_code(value: str) -> str:
    system, separator, code = value.rpartition("|")
    if separator and system not in ("", v.NUCC_SYSTEM):
        raise ParameterError("specialty", f"specialties are NUCC taxonomy codes ({v.NUCC_SYSTEM}), not {system}.")
    return code


def as_uuids(values: list[str]) -> list[uuid.UUID]:
    """The values that are UUIDs (every id here is one); any other value names nothing."""
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue
    return found


DATE_PATTERN = re.compile(
    r"^(?P<prefix>[a-z]{2})?(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?P<time>T\d{2}:\d{2}(?P<seconds>:\d{2}(?P<fraction>\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?)?)?$"
)
PREFIXES = ("eq", "gt", "ge", "lt", "le")


def _interval(raw: str) -> Interval:
    """A `_lastUpdated` value: a prefix and a date (its whole year, month or day) or a date-time with its zone."""
    match = DATE_PATTERN.match(raw.strip())
    prefix = (match and match["prefix"]) or "eq"
    if match is None or prefix not in PREFIXES:
        raise ParameterError(
            "_lastUpdated",
            "expected an optional prefix (eq, gt, ge, lt, le) and a date (2026-01-31) "
            "or a date-time with its time zone (2026-01-31T09:00:00Z).",
        )
    try:
        start, end = _period(match)
    except (ValueError, OverflowError) as error:
        raise ParameterError("_lastUpdated", f"not a real date or time ({error}).") from error
    return {
        "eq": Interval(start, end),
        "gt": Interval(end, None),
        "ge": Interval(start, None),
        "lt": Interval(None, start),
        "le": Interval(None, end),
    }[prefix]


def _period(match: re.Match) -> tuple[datetime.datetime, datetime.datetime]:
    """The moments a date or date-time covers, to its precision: [start, end)."""
    year, month, day = int(match["year"]), int(match["month"] or 1), int(match["day"] or 1)
    if match["time"]:
        text = match.group(0)[len(match["prefix"] or "") :].replace("Z", "+00:00")
        start = parse_datetime(text)
        if start is None:
            raise ValueError(text)
        if match["fraction"]:
            return start, start + datetime.timedelta(microseconds=1)
        return start, start + datetime.timedelta(seconds=1 if match["seconds"] else 60)
    zone = timezone.get_current_timezone()
    start = datetime.datetime(year, month, day, tzinfo=zone)
    if match["day"]:
        end = start + datetime.timedelta(days=1)
    elif match["month"]:
        end = datetime.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    else:
        end = datetime.datetime(year + 1, 1, 1, tzinfo=zone)
    return start, end


NUMBER = re.compile(r"^-?\d{1,3}(?:\.\d+)?$|^\d+(?:\.\d+)?$")
UNITS = {"mi": 1.0, "[mi_i]": 1.0, "km": MILES_PER_KILOMETRE}


def _near(raw: str) -> Near:
    """`latitude|longitude|distance|units`, the distance and units optional."""
    parts = raw.split("|")
    if len(parts) < 2 or len(parts) > 4 or not all(NUMBER.match(part.strip()) for part in parts[:3]):
        raise ParameterError("near", "expected latitude|longitude|distance|units, such as 40.67|-73.98|10|mi.")
    latitude, longitude = float(parts[0]), float(parts[1])
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ParameterError("near", "latitude is -90 to 90 and longitude -180 to 180.")
    units = parts[3].strip() if len(parts) == 4 else "mi"
    if units not in UNITS:
        raise ParameterError("near", "units are mi or km.")
    miles = float(parts[2]) * UNITS[units] if len(parts) >= 3 else float(DEFAULT_RADIUS_MILES)
    if not 0 < miles <= MAX_RADIUS_MILES:
        raise ParameterError("near", f"the distance must be more than 0 and at most {MAX_RADIUS_MILES} miles.")
    return Near(latitude, longitude, miles)
