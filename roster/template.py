"""The roster template: its columns, the one rule for lists in a cell, and reading a row into profile values.

One row per therapist. In a list cell `;` separates the items and `|` the parts
of one item: an office is `street|city|state|zip`, a licence `state|basis|number`,
an IPT credential `issuer|level|date`. Vocabulary values are accepted by slug
(or code) or by name, in any case; an unknown one is refused with the known ones.
Nothing here writes: `roster.services` validates the values with the profile
services' own rules and saves them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Model

from directory import geo
from directory.models import (
    AGE_GROUPS,
    FORMATS,
    Concern,
    Credential,
    FocusArea,
    Insurer,
    Language,
    LicensedState,
    validate_npi,
)
from directory.vocabularies import reference_rows

HEADER = [
    "first_name", "last_name", "credentials", "npi", "email", "phone", "website",
    "formats", "age_groups", "insurers", "focus_areas", "concerns", "languages",
    "fee_min", "fee_max", "sliding_scale", "offices", "licences", "ipt_credentials",
]  # fmt: skip
REQUIRED = ("first_name", "last_name", "credentials", "npi")
TEXT_FIELDS = ("first_name", "last_name", "credentials", "npi", "email", "phone", "website")
# The profile fields a row sets (`Therapist`'s names), all of them on every row.
TEMPLATE_FIELDS = (
    *TEXT_FIELDS,
    *(f"offers_{slug}" for slug in FORMATS),
    *(f"serves_{slug.replace('-', '_')}" for slug in AGE_GROUPS),
    "fee_min",
    "fee_max",
    "sliding_scale",
)
ITEM_SEPARATOR = ";"
PART_SEPARATOR = "|"
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


@dataclass(frozen=True)
class Problem:
    """Why a row (or the file) is refused: its line in the file, the template column, and what to fix."""

    line: int
    column: str
    message: str


def repeated_npi(npi: str, first_line: int) -> str:
    """Why a row is refused when its NPI was on an earlier line: a roster lists each therapist once."""
    return f"NPI {npi} is already on line {first_line}: a roster has one row per therapist."


@dataclass
class RosterRow:
    """One row read into the values the profile services take; `problems` says what could not be read."""

    line: int
    raw: dict[str, str]
    fields: dict[str, object] = field(default_factory=dict)
    focus_areas: list[FocusArea] = field(default_factory=list)
    concerns: list[Concern] = field(default_factory=list)
    languages: list[Language] = field(default_factory=list)
    insurers: list[Insurer] = field(default_factory=list)
    offices: list[dict[str, str]] = field(default_factory=list)
    licensed_states: list[dict[str, str]] = field(default_factory=list)
    ipt_credentials: list[dict[str, object]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def npi(self) -> str:
        return self.raw.get("npi", "").strip()

    @property
    def name(self) -> str:
        return " ".join(
            part for part in (self.raw.get("first_name", "").strip(), self.raw.get("last_name", "").strip()) if part
        )

    def refuse(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.line, column, message))


class Vocabulary:
    """Known values by lowercased key and name: `find` returns the value or None; `known` lists the keys."""

    def __init__(self, noun: str, values: Mapping[str, object], names: Mapping[str, str]) -> None:
        self.noun = noun
        self.keys = list(values)
        self.lookup = {key.lower(): value for key, value in values.items()}
        self.lookup.update({name.lower(): values[key] for key, name in names.items()})

    def find(self, text: str) -> object | None:
        return self.lookup.get(text.strip().lower())

    def unknown(self, text: str) -> str:
        return f"Unknown {self.noun} “{text.strip()}”. Known {self.noun}s (slug or name): {', '.join(self.keys)}."


def _model_vocabulary(noun: str, model: type[Model], key: str) -> Vocabulary:
    rows = reference_rows(model, key)
    return Vocabulary(noun, rows, {slug: row.name for slug, row in rows.items()})


def _choices_vocabulary(noun: str, choices: Iterable[tuple[str, str]]) -> Vocabulary:
    pairs = dict(choices)
    return Vocabulary(noun, {value: value for value in pairs}, pairs)


@dataclass(frozen=True)
class Vocabularies:
    """Every vocabulary a row may use, read once per import."""

    formats: Vocabulary
    age_groups: Vocabulary
    insurers: Vocabulary
    focus_areas: Vocabulary
    concerns: Vocabulary
    languages: Vocabulary
    states: Vocabulary
    bases: Vocabulary
    issuers: Vocabulary
    levels: Vocabulary

    @classmethod
    def load(cls) -> Vocabularies:
        return cls(
            formats=_choices_vocabulary("format", FORMATS.items()),
            age_groups=_choices_vocabulary("age group", AGE_GROUPS.items()),
            insurers=_model_vocabulary("insurer", Insurer, "slug"),
            focus_areas=_model_vocabulary("focus area", FocusArea, "slug"),
            concerns=_model_vocabulary("concern", Concern, "slug"),
            languages=_model_vocabulary("language", Language, "code"),
            states=_choices_vocabulary("state", sorted(geo.US_STATES.items())),
            bases=_choices_vocabulary("licence basis", LicensedState.Basis.choices),
            issuers=_choices_vocabulary("credential issuer", Credential.Issuer.choices),
            levels=_choices_vocabulary("credential level", Credential.Level.choices),
        )


def header_problems(header: list[str] | None) -> list[Problem]:
    """What is wrong with the file's first line: a missing, unknown or repeated column (any order is fine)."""
    if not header:
        return [Problem(1, "", f"The file is empty: its first line must name the columns: {', '.join(HEADER)}.")]
    problems = []
    names = [name.strip().lstrip("\ufeff") for name in header]  # a byte-order mark the reader kept
    for name in names:
        if name not in HEADER:
            problems.append(Problem(1, name, f"Unknown column “{name}”. The columns are: {', '.join(HEADER)}."))
    for name in sorted({name for name in names if names.count(name) > 1 and name in HEADER}):
        problems.append(Problem(1, name, f"The column “{name}” appears more than once."))
    problems += [Problem(1, name, f"Missing column “{name}”.") for name in HEADER if name not in names]
    return problems


def items(cell: str) -> list[str]:
    """The items of a list cell: `;`-separated, blanks dropped."""
    return [item.strip() for item in cell.split(ITEM_SEPARATOR) if item.strip()]


def parts(item: str) -> list[str]:
    return [part.strip() for part in item.split(PART_SEPARATOR)]


def _vocabulary_list(row: RosterRow, column: str, vocabulary: Vocabulary) -> list:
    found = []
    for item in items(row.raw[column]):
        value = vocabulary.find(item)
        if value is None:
            row.refuse(column, vocabulary.unknown(item))
        elif value not in found:
            found.append(value)
    return found


def _whole_dollars(row: RosterRow, column: str) -> int | None:
    text = row.raw[column].strip().removeprefix("$").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        row.refuse(column, f"“{row.raw[column].strip()}” is not a whole number of dollars, such as 120.")
        return None
    return int(text)


def _yes_no(row: RosterRow, column: str) -> bool:
    text = row.raw[column].strip().lower()
    if text not in YES | NO:
        row.refuse(column, f"“{row.raw[column].strip()}” is not yes or no.")
    return text in YES


def _parted_items(row: RosterRow, column: str, noun: str, layout: str, sizes: range) -> Iterator[tuple[int, list]]:
    """(number, parts) of each item of a list cell whose parts are `layout`; an item of another size is refused."""
    for number, item in enumerate(items(row.raw[column]), start=1):
        item_parts = parts(item)
        if len(item_parts) not in sizes:
            row.refuse(column, f"{noun} {number} “{item}” is not {layout}.")
            continue
        yield number, (*item_parts, *[""] * (sizes.stop - 1 - len(item_parts)))


def _offices(row: RosterRow, vocabularies: Vocabularies) -> list[dict[str, str]]:
    offices = []
    for number, (street, city, state_text, postal_code) in _parted_items(
        row, "offices", "Office", "street|city|state|zip (4 parts)", range(4, 5)
    ):
        state = vocabularies.states.find(state_text)
        if state is None:
            row.refuse("offices", f"Office {number}: {vocabularies.states.unknown(state_text)}")
            continue
        offices.append({"address": street, "city": city, "state": state, "postal_code": postal_code})
    return offices


def _licences(row: RosterRow, vocabularies: Vocabularies) -> list[dict[str, str]]:
    licences = []
    for number, (state_text, basis_text, licence_number) in _parted_items(
        row, "licences", "Licence", "state|basis|number (3 parts at most)", range(1, 4)
    ):
        state = vocabularies.states.find(state_text)
        basis = vocabularies.bases.find(basis_text) if basis_text else LicensedState.Basis.LICENSE
        if state is None:
            row.refuse("licences", f"Licence {number}: {vocabularies.states.unknown(state_text)}")
        if basis is None:
            row.refuse("licences", f"Licence {number}: {vocabularies.bases.unknown(basis_text)}")
        if state is not None and basis is not None:
            licences.append({"state": state, "basis": basis, "license_number": licence_number})
    return licences


def _credentials(row: RosterRow, vocabularies: Vocabularies) -> list[dict[str, object]]:
    credentials = []
    for number, (issuer_text, level_text, date_text) in _parted_items(
        row, "ipt_credentials", "Credential", "issuer|level|date (3 parts)", range(3, 4)
    ):
        issuer, level = vocabularies.issuers.find(issuer_text), vocabularies.levels.find(level_text)
        for value, vocabulary, text in (
            (issuer, vocabularies.issuers, issuer_text),
            (level, vocabularies.levels, level_text),
        ):
            if value is None:
                row.refuse("ipt_credentials", f"Credential {number}: {vocabulary.unknown(text)}")
        try:
            awarded_on = datetime.date.fromisoformat(date_text)
        except ValueError:
            row.refuse("ipt_credentials", f"Credential {number}: “{date_text}” is not a date as YYYY-MM-DD.")
            continue
        if issuer is not None and level is not None:
            credentials.append(
                {
                    "issuer": issuer,
                    "level": level,
                    "awarded_on": awarded_on,
                    "expires_on": None,
                    "certificate_number": "",
                }
            )
    return credentials


def read_row(line: int, raw: Mapping[str | None, object], vocabularies: Vocabularies) -> RosterRow:
    """Read one row (as csv.DictReader gives it) into profile values; problems for what cannot be read.

    Whether the values make a valid profile (lengths, e-mail, ZIP in its state...)
    is the profile services' to say (`directory.profiles.validate_profile`).
    """
    extra = raw.get(None)
    row = RosterRow(line=line, raw={name: str(raw.get(name) or "") for name in HEADER})
    if extra:
        row.refuse("", f"This row has {len(extra)} more cell(s) than the header: check for an unquoted comma.")
    for column in REQUIRED:
        if not row.raw[column].strip():
            row.refuse(column, "This cell is required.")
    if row.npi:
        try:
            validate_npi(row.npi)
        except ValidationError as error:
            row.refuse("npi", " ".join(error.messages))
    formats = _vocabulary_list(row, "formats", vocabularies.formats)
    age_groups = _vocabulary_list(row, "age_groups", vocabularies.age_groups)
    row.fields = {
        **{name: row.raw[name].strip() for name in TEXT_FIELDS},
        **{f"offers_{slug}": slug in formats for slug in FORMATS},
        **{f"serves_{slug.replace('-', '_')}": slug in age_groups for slug in AGE_GROUPS},
        "fee_min": _whole_dollars(row, "fee_min"),
        "fee_max": _whole_dollars(row, "fee_max"),
        "sliding_scale": _yes_no(row, "sliding_scale"),
    }
    row.insurers = _vocabulary_list(row, "insurers", vocabularies.insurers)
    row.focus_areas = _vocabulary_list(row, "focus_areas", vocabularies.focus_areas)
    row.concerns = _vocabulary_list(row, "concerns", vocabularies.concerns)
    row.languages = _vocabulary_list(row, "languages", vocabularies.languages)
    row.offices = _offices(row, vocabularies)
    row.licensed_states = _licences(row, vocabularies)
    row.ipt_credentials = _credentials(row, vocabularies)
    # What `submit_for_review` requires of a profile before staff see it.
    if not items(row.raw["licences"]):
        row.refuse("licences", "Give at least one state where the therapist is licensed.")
    if not items(row.raw["offices"]) and "online" not in formats:
        row.refuse("offices", "Give an office, or the format “online”.")
    return row


# Where a profile service's error key (`offices[1].postal_code`) is in the template.
FIELD_COLUMNS: dict[str, str] = {
    **{f"offers_{slug}": "formats" for slug in FORMATS},
    **{f"serves_{slug.replace('-', '_')}": "age_groups" for slug in AGE_GROUPS},
    "offices": "offices",
    "licensed_states": "licences",
    "insurers": "insurers",
    "ipt_credentials": "ipt_credentials",
}
ITEM_NOUNS = {"offices": "Office", "licensed_states": "Licence", "ipt_credentials": "Credential"}


def problems_of(line: int, error: ValidationError, describe: Callable[[str], str] | None = None) -> list[Problem]:
    """A profile service's ValidationError as template problems: `offices[1].postal_code` → column offices,
    "Office 2 (postal_code): ..."."""
    problems = []
    for key, messages in error.message_dict.items():
        base, _, rest = key.partition("[")
        column = FIELD_COLUMNS.get(base, base if base in HEADER else "")
        prefix = ""
        if rest:
            index, _, part = rest.partition("]")
            field_name = part.lstrip(".")
            prefix = (
                f"{ITEM_NOUNS.get(base, base)} {int(index) + 1}" + (f" ({field_name})" if field_name else "") + ": "
            )
        problems += [Problem(line, column, prefix + message) for message in messages]
    return problems
