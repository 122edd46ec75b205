"""The roster import: a CSV of therapists into the directory, matched by NPI, through the profile services' rules.

`import_roster` streams the file a batch of rows at a time. For each batch: one
query (and its prefetches) reads the therapists whose NPIs it names; a row
identical to its profile is "unchanged" and writes nothing; a changed row goes
through `directory.profiles.update_profile`, moderation included, in its own
transaction; new NPIs are checked by `directory.profiles.validate_profile` one
by one and then saved together (`bulk_create`), their search entries refreshed
in the same transaction. A refused row writes nothing and stops no other row.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import islice
from typing import TextIO

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from config.sqlite import file_not_mapped
from directory import geo, search
from directory.models import (
    Credential,
    LicensedState,
    Office,
    SearchEntry,
    Therapist,
    TherapistInsurer,
)
from directory.profiles import assign_slugs, highest_training_level, publish_profile, update_profile, validate_profile
from roster.template import (
    HEADER,
    TEMPLATE_FIELDS,
    Problem,
    RosterRow,
    Vocabularies,
    header_problems,
    problems_of,
    read_row,
    repeated_npi,
)

__all__ = ["HEADER", "ImportSummary", "Problem", "RowOutcome", "import_roster", "write_refused_csv"]

BATCH_SIZE = 500
CREATE, UPDATE, UNCHANGED, REFUSE = "create", "update", "unchanged", "refuse"
REFUSED_COLUMNS = ["line", "column", "problem"]


@dataclass
class RowOutcome:
    """What the import did (or, in a dry run, would do) with one row: "create", "update", "unchanged" or "refuse"."""

    line: int
    npi: str
    name: str
    action: str
    problems: list[Problem] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportSummary:
    """The counts of each action, and the refused rows (for the refused-rows CSV).

    `file_problems` is non-empty when the file itself is unusable (a missing or unknown
    column, bytes that are not UTF-8, broken CSV): nothing from that point on is imported.
    A header problem is also a refused row on line 1.
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    refused_rows: list[RowOutcome] = field(default_factory=list)
    file_problems: list[Problem] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.refused

    def record(self, outcome: RowOutcome) -> None:
        counter = {CREATE: "created", UPDATE: "updated", UNCHANGED: "unchanged", REFUSE: "refused"}[outcome.action]
        setattr(self, counter, getattr(self, counter) + 1)
        if outcome.action == REFUSE:
            self.refused_rows.append(outcome)


@dataclass
class _Context:
    vocabularies: Vocabularies
    publisher: AbstractBaseUser | None
    now: datetime.datetime
    lines_by_npi: dict[int, int] = field(default_factory=dict)


def import_roster(
    stream: TextIO,
    *,
    dry_run: bool,
    publisher: AbstractBaseUser | None = None,
    on_row: Callable[[RowOutcome], None] | None = None,
) -> ImportSummary:
    """Import a roster CSV (the template's columns, in any order) read from `stream`, a batch at a time.

    Each row is matched by NPI: a new NPI creates a profile without an account,
    pending review, or published when `publisher` (a staff user) is given, its
    credentials then verified by them; a known NPI updates its profile through
    `update_profile`, which sends a published profile back to review when what
    staff vouched for changed, unless `publisher` republishes it. A row equal to
    its profile writes nothing. `dry_run` runs the same steps, each batch in a
    transaction rolled back at its end, so the outcomes are those a real run
    would have and the database is held a batch at a time, never for the whole
    file (a row repeating an NPI is refused from the file's lines read so far,
    not from the database). `on_row` is called with each row's outcome, in file
    order, after its batch's transaction: what it writes is kept.
    """
    if publisher is not None and not publisher.is_staff:
        raise PermissionDenied("Only a staff user may publish an imported roster.")
    summary = ImportSummary()

    def report(outcome: RowOutcome) -> None:
        summary.record(outcome)
        if on_row is not None:
            on_row(outcome)

    reader = csv.DictReader(stream)
    try:
        problems = header_problems(reader.fieldnames)
    except (csv.Error, UnicodeDecodeError) as error:
        problems = [Problem(1, "", _unreadable(error))]
    if problems:
        summary.file_problems = problems
        report(RowOutcome(line=1, npi="", name="", action=REFUSE, problems=problems, raw={}))
        return summary
    reader.fieldnames = [name.strip().lstrip("\ufeff") for name in reader.fieldnames]
    context = _Context(vocabularies=Vocabularies.load(), publisher=publisher, now=timezone.now())
    # A real run commits batch by batch (and row by row for updates); a dry run rolls each batch back. Outcomes
    # are reported after the batch's transaction, so what `on_row` writes (progress) is kept in a dry run too.
    records = _records(reader, summary)
    with file_not_mapped():
        while batch := list(islice(records, BATCH_SIZE)):
            with transaction.atomic() if dry_run else nullcontext():
                outcomes = _import_batch(batch, context)
                if dry_run:
                    transaction.set_rollback(True)
            for outcome in outcomes:
                report(outcome)
    return summary


def _unreadable(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "The file is not UTF-8 text: save it as “CSV UTF-8” and try again."
    return f"The file is not readable as CSV: {error}."


def _records(reader: csv.DictReader, summary: ImportSummary) -> Iterator[tuple[int, dict]]:
    """(first line, cells) of each row; a broken file ends the rows and is recorded in `file_problems`."""
    try:
        for raw in reader:
            if not any(str(value or "").strip() for value in raw.values()):
                continue  # a spreadsheet's trailing ",,,,": no row
            # line_num is the record's last line; a quoted cell may span several.
            newlines = sum(str(value).count("\n") for value in raw.values() if isinstance(value, str))
            yield reader.line_num - newlines, raw
    except (csv.Error, UnicodeDecodeError) as error:
        summary.file_problems.append(Problem(reader.line_num + 1, "", _unreadable(error)))


@dataclass
class _Listed:
    """What the directory holds of a profile, in the terms of the template: read as plain values, no models."""

    pk: int
    fields: dict[str, object]
    lists: dict[str, object] = field(default_factory=dict)


# The relations the template sets: (name, model, its columns after therapist_id), compared as `_given` gives them.
LISTED_RELATIONS = [
    ("focus_areas", Therapist.focus_areas.through, ("focusarea_id",)),
    ("concerns", Therapist.concerns.through, ("concern_id",)),
    ("languages", Therapist.languages.through, ("language_id",)),
    ("insurers", TherapistInsurer, ("insurer_id",)),
    ("offices", Office, ("address", "city", "state", "postal_code")),
    ("licensed_states", LicensedState, ("state", "basis", "license_number")),
    ("ipt_credentials", Credential, ("issuer", "level", "awarded_on")),
]
SETS = {"focus_areas", "concerns", "languages", "insurers"}


def _existing(npis: list[str], field_names: list[str]) -> dict[str, _Listed]:
    """The profiles with these NPIs as the template sees them, in eight queries whatever their number."""
    listed = {
        values["npi"]: _Listed(pk=values.pop("pk"), fields=values)
        for values in Therapist.objects.filter(npi__in=npis).values("pk", "npi", *field_names)
    }
    by_pk = {profile.pk: profile for profile in listed.values()}
    for profile in by_pk.values():
        profile.lists = {name: set() if name in SETS else [] for name, _, _ in LISTED_RELATIONS}
    for name, model, columns in LISTED_RELATIONS if by_pk else []:
        for therapist_id, *values in model.objects.filter(therapist_id__in=list(by_pk)).values_list(
            "therapist_id", *columns
        ):
            collected = by_pk[therapist_id].lists[name]
            if name in SETS:
                collected.add(values[0])
            else:
                collected.append(tuple(values))
    for profile in by_pk.values():
        for name in profile.lists:
            if name not in SETS:
                profile.lists[name] = sorted(profile.lists[name])
    return listed


def _import_batch(batch: list[tuple[int, dict]], context: _Context) -> list[RowOutcome]:
    rows = [read_row(line, raw, context.vocabularies) for line, raw in batch]
    for row in rows:
        if row.npi and not row.problems:
            first = context.lines_by_npi.setdefault(int(row.npi), row.line)
            if first != row.line:
                row.refuse("npi", repeated_npi(row.npi, first))
    existing = _existing([row.npi for row in rows if not row.problems], list(TEMPLATE_FIELDS))
    outcomes: list[RowOutcome] = []
    new_profiles: list[_NewProfile] = []
    for row in rows:
        if row.problems:
            outcomes.append(_outcome(row, REFUSE))
        elif row.npi in existing:
            outcomes.append(_update(row, existing[row.npi], context))
        else:
            new_profile = _new_profile(row, context)
            if new_profile.row.problems:
                outcomes.append(_outcome(row, REFUSE))
            else:
                new_profiles.append(new_profile)
    outcomes += _create(new_profiles)
    return sorted(outcomes, key=lambda outcome: outcome.line)


def _outcome(row: RosterRow, action: str) -> RowOutcome:
    return RowOutcome(
        line=row.line, npi=row.npi, name=row.name, action=action, problems=list(row.problems), raw=row.raw
    )


# ---------------------------------------------------------------- a known NPI


def _given(row: RosterRow) -> dict[str, object]:
    """What the row says of the relations, in the shape `_existing` reads them."""
    return {
        "focus_areas": {area.pk for area in row.focus_areas},
        "concerns": {concern.pk for concern in row.concerns},
        "languages": {language.pk for language in row.languages},
        "insurers": {insurer.pk for insurer in row.insurers},
        "offices": sorted(tuple(office.values()) for office in row.offices),
        "licensed_states": sorted(tuple(licence.values()) for licence in row.licensed_states),
        "ipt_credentials": sorted((c["issuer"], c["level"], c["awarded_on"]) for c in row.ipt_credentials),
    }


def _changes(row: RosterRow, therapist: Therapist, changed: set[str]) -> dict[str, object]:
    """The lists the row changes, as `update_profile` takes them; None for a list left as it is."""
    links = {link.insurer_id: link.accepting_new_clients for link in therapist.insurer_links.all()}
    # A credential the row repeats keeps its id, so that update_profile keeps its verification.
    kept = {(c.issuer, c.level, c.awarded_on): c for c in therapist.ipt_credentials.all()}
    credentials = []
    for values in row.ipt_credentials:
        same = kept.get((values["issuer"], values["level"], values["awarded_on"]))
        credentials.append(
            {**values, "id": same.pk, "expires_on": same.expires_on, "certificate_number": same.certificate_number}
            if same
            else values
        )
    lists = {
        "focus_areas": row.focus_areas,
        "concerns": row.concerns,
        "languages": row.languages,
        "insurers": [
            {"insurer": insurer, "accepting_new_clients": links.get(insurer.pk, True)} for insurer in row.insurers
        ],
        "offices": row.offices,
        "licensed_states": row.licensed_states,
        "ipt_credentials": credentials,
    }
    return {name: value if name in changed else None for name, value in lists.items()}


def _update(row: RosterRow, listed: _Listed, context: _Context) -> RowOutcome:
    """Unchanged when the row says what the profile says; otherwise `update_profile`, all or nothing."""
    given = _given(row)
    changed = {name for name, value in given.items() if listed.lists[name] != value}
    if not changed and all(listed.fields[name] == value for name, value in row.fields.items()):
        return _outcome(row, UNCHANGED)
    therapist = Therapist.objects.prefetch_related("insurer_links", "ipt_credentials").get(pk=listed.pk)
    was_published = therapist.status == Therapist.Status.PUBLISHED
    try:
        with transaction.atomic():
            update_profile(therapist=therapist, fields=row.fields, **_changes(row, therapist, changed))
            if context.publisher is not None and was_published and therapist.status == Therapist.Status.PENDING:
                publish_profile(therapist=therapist, verified_by=context.publisher, notify=False)
    except ValidationError as error:
        row.problems += problems_of(row.line, error)
        return _outcome(row, REFUSE)
    return _outcome(row, UPDATE)


# ---------------------------------------------------------------- a new NPI


@dataclass
class _NewProfile:
    row: RosterRow
    therapist: Therapist
    offices: list[Office]
    licensed_states: list[LicensedState]
    insurers: list[TherapistInsurer]
    ipt_credentials: list[Credential]


def _new_profile(row: RosterRow, context: _Context) -> _NewProfile:
    """A new profile checked by `validate_profile` (the NPI's uniqueness was checked with the batch), unsaved.

    Published by `publisher` as `publish_profile` would: credentials verified by them,
    availability confirmed as of now; otherwise pending review.
    """
    therapist = Therapist(status=Therapist.Status.PENDING)
    try:
        rows = validate_profile(
            therapist=therapist,
            fields=row.fields,
            offices=row.offices,
            licensed_states=row.licensed_states,
            insurers=[{"insurer": insurer, "accepting_new_clients": True} for insurer in row.insurers],
            ipt_credentials=row.ipt_credentials,
            query_database=False,
        )
    except ValidationError as error:
        row.problems += problems_of(row.line, error)
        return _NewProfile(row, therapist, [], [], [], [])
    for office in rows.offices:
        place = geo.geocode_address(office.address, office.postal_code)  # as Office.save does
        office.latitude, office.longitude = place.latitude, place.longitude
    if context.publisher is not None:
        therapist.status = Therapist.Status.PUBLISHED
        therapist.availability_confirmed_at = context.now
        for credential in rows.ipt_credentials:
            credential.verified_at, credential.verified_by = context.now, context.publisher
        therapist.training_level = highest_training_level(rows.ipt_credentials)
    return _NewProfile(row, therapist, rows.offices, rows.licensed_states, rows.insurers, rows.ipt_credentials)


def _create(new_profiles: list[_NewProfile]) -> list[RowOutcome]:
    """Save the batch's new profiles together; should the database refuse the batch (another writer took an
    NPI meanwhile), each is saved in its own transaction and a refused one reported."""
    if not new_profiles:
        return []
    try:
        with transaction.atomic():
            _save(new_profiles)
    except (IntegrityError, DatabaseError):
        outcomes = []
        for new_profile in new_profiles:
            _forget_ids(new_profile)
            try:
                with transaction.atomic():
                    _save([new_profile])
            except (IntegrityError, DatabaseError) as error:
                new_profile.row.refuse("npi", f"The profile could not be saved: {error}")
                outcomes.append(_outcome(new_profile.row, REFUSE))
            else:
                outcomes.append(_outcome(new_profile.row, CREATE))
        return outcomes
    return [_outcome(new_profile.row, CREATE) for new_profile in new_profiles]


def _forget_ids(new_profile: _NewProfile) -> None:
    """After a rolled-back save: the ids the database gave are no longer theirs."""
    new_profile.therapist.pk = None
    for relation in ("offices", "licensed_states", "insurers", "ipt_credentials"):
        for row in getattr(new_profile, relation):
            row.pk, row.therapist_id = None, None
            row._state.adding = True


def _save(new_profiles: list[_NewProfile]) -> None:
    """Insert the profiles and their rows; their listing cards and search entries are built from the same
    objects, as `search.refresh` would build them from the tables."""
    therapists = [new_profile.therapist for new_profile in new_profiles]
    assign_slugs(therapists)
    for new_profile in new_profiles:
        new_profile.therapist.listing_card = search.build_card(new_profile.therapist, **_relations(new_profile))
    _insert_profiles(therapists)
    for model, relation in (
        (Office, "offices"),
        (LicensedState, "licensed_states"),
        (TherapistInsurer, "insurers"),
        (Credential, "ipt_credentials"),
    ):
        rows = [row for new_profile in new_profiles for row in getattr(new_profile, relation)]
        for row in rows:
            row.therapist_id = row.therapist.pk
        _insert(model, rows)
    for relation, key in (("focus_areas", "focusarea_id"), ("concerns", "concern_id"), ("languages", "language_id")):
        through = getattr(Therapist, relation).through
        _insert(
            through,
            [
                through(therapist_id=new_profile.therapist.pk, **{key: value.pk})
                for new_profile in new_profiles
                for value in getattr(new_profile.row, relation)
            ],
        )
    _insert(
        SearchEntry,
        [
            entry
            for new_profile in new_profiles
            for entry in search.build_entries(
                new_profile.therapist,
                offices=new_profile.offices,
                licensed_states=[licence.state for licence in new_profile.licensed_states],
                insurers=[(link.insurer_id, link.accepting_new_clients) for link in new_profile.insurers],
                focus_area_ids=[area.pk for area in new_profile.row.focus_areas],
                concern_ids=[concern.pk for concern in new_profile.row.concerns],
                language_ids=[language.pk for language in new_profile.row.languages],
            )
        ],
    )


def _insert_profiles(therapists: list[Therapist]) -> None:
    """Insert the profiles and learn their ids: `bulk_create` where it returns them cheaply (SQLite), COPY then
    one read by NPI on PostgreSQL, where a 500-row INSERT of every column costs some ten times a COPY."""
    if connection.vendor != "postgresql":
        Therapist.objects.bulk_create(therapists)
        return
    _insert(Therapist, therapists)
    ids = dict(Therapist.objects.filter(npi__in=[therapist.npi for therapist in therapists]).values_list("npi", "pk"))
    for therapist in therapists:
        therapist.pk = ids[therapist.npi]
        therapist._state.adding = False


def _insert(model: type[Model], objects: list[Model]) -> None:
    """New rows whose ids nobody reads back: COPY on PostgreSQL, one prepared INSERT run per row elsewhere
    (SQLite). `bulk_create` spends most of its time compiling each value as an expression (about 0.1 ms a
    row); the values are the same, prepared by each field. Row triggers (the search index's words) fire
    for COPY too."""
    if not objects:
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    rows = (
        [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields] for instance in objects
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for values in rows:
                    copy.write_row(values)
            return
        placeholders = ", ".join(["%s"] * len(fields))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", list(rows))


def _relations(new_profile: _NewProfile) -> dict[str, list]:
    return {
        "offices": new_profile.offices,
        "licensed_states": [licence.state for licence in new_profile.licensed_states],
        "insurers": new_profile.row.insurers,
        "focus_areas": new_profile.row.focus_areas,
        "concerns": new_profile.row.concerns,
        "languages": new_profile.row.languages,
    }


# ---------------------------------------------------------------- the refused rows


def write_refused_csv(summary: ImportSummary, out: TextIO) -> None:
    """The refused rows as they were in the file, plus the line, the column and the problem(s), one row each,
    so the file can be corrected and imported again."""
    writer = csv.writer(out)
    writer.writerow([*HEADER, *REFUSED_COLUMNS])
    for outcome in summary.refused_rows:
        columns = "; ".join(dict.fromkeys(problem.column for problem in outcome.problems if problem.column))
        messages = " ".join(
            f"{problem.column}: {problem.message}" if problem.column else problem.message
            for problem in outcome.problems
        )
        writer.writerow([*(outcome.raw.get(name, "") for name in HEADER), outcome.line, columns, messages])
