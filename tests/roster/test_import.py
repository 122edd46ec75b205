"""The roster import: the template, refusals with line and column, dry run, idempotency, moderation, speed bounds."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.models import (
    Credential,
    LicensedState,
    Office,
    SearchEntry,
    Therapist,
    TherapistInsurer,
    npi_check_digit,
)
from directory.profiles import assign_slugs
from roster.services import HEADER, ImportSummary, RowOutcome, import_roster, write_refused_csv

pytestmark = pytest.mark.django_db

TEMPLATE = Path(settings.BASE_DIR) / "fixtures" / "roster-template.csv"


def npi(serial: int) -> str:
    prefix = f"16{serial:07d}"
    return prefix + str(npi_check_digit(prefix))


def row(serial: int = 1, **cells: str) -> dict[str, str]:
    """A valid template row for a new therapist, with `cells` changed."""
    return {
        "first_name": "Rosa",
        "last_name": f"Import{serial}",
        "credentials": "LCSW",
        "npi": npi(serial),
        "email": f"rosa{serial}@example.org",
        "phone": "718-555-0100",
        "website": "https://rosa.example.org",
        "formats": "individual;Online (telehealth)",
        "age_groups": "adults",
        "insurers": "aetna;Cigna",
        "focus_areas": "grief-loss",
        "concerns": "depression;Social anxiety",
        "languages": "en;Spanish",
        "fee_min": "100",
        "fee_max": "150",
        "sliding_scale": "yes",
        "offices": "210 Court St|Brooklyn|NY|11201",
        "licences": "NY|license|R-0001;NJ|license|",
        "ipt_credentials": "ipt-institute|B|2020-05-01",
        **cells,
    }


def roster(*rows: dict[str, str], header: list[str] | None = None) -> io.StringIO:
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=header or HEADER, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    stream.seek(0)
    return stream


def run(*rows: dict[str, str], dry_run: bool = False, publisher: User | None = None) -> tuple[ImportSummary, list]:
    outcomes: list[RowOutcome] = []
    summary = import_roster(roster(*rows), dry_run=dry_run, publisher=publisher, on_row=outcomes.append)
    return summary, outcomes


@pytest.fixture
def staff() -> User:
    return User.objects.create_user(username="roster-staff", is_staff=True)


def directory_counts() -> dict[str, int]:
    models = [Therapist, Office, LicensedState, Credential, TherapistInsurer, SearchEntry]
    counts = {model.__name__: model.objects.count() for model in models}
    for name in ("focus_areas", "concerns", "languages"):
        counts[name] = getattr(Therapist, name).through.objects.count()
    return counts


# ---------------------------------------------------------------- the template


def test_shipped_template_imports_every_example_row_as_a_profile_pending_review() -> None:
    with TEMPLATE.open(newline="", encoding="utf-8") as stream:
        summary = import_roster(stream, dry_run=False)

    assert (summary.created, summary.refused) == (3, 0)
    chen = Therapist.objects.get(last_name="Chen", first_name="David")
    assert chen.status == Therapist.Status.PENDING and chen.user is None
    assert [(office.city, office.postal_code) for office in chen.offices.all()] == [
        ("New York", "10018"),
        ("White Plains", "10601"),
    ]
    assert all(office.latitude and office.longitude for office in chen.offices.all())
    assert {(licence.state, licence.basis) for licence in chen.licensed_states.all()} == {
        ("NY", "license"),
        ("CA", "psypact"),
    }
    assert {(c.issuer, c.level) for c in chen.ipt_credentials.all()} == {
        ("isipt", "isipt-therapist"),
        ("ipt-institute", "D"),
    }
    assert not chen.ipt_credentials.verified().exists()
    assert {area.slug for area in chen.focus_areas.all()} == {"interpersonal-sensitivity", "life-transitions"}
    assert chen.offers_group and not chen.offers_online and chen.serves_adolescents
    assert '"name": "David Chen"' in chen.listing_card
    assert not SearchEntry.objects.filter(therapist=chen).exists()  # not published: not found


def test_template_header_is_the_engines() -> None:
    with TEMPLATE.open(newline="", encoding="utf-8") as stream:
        assert next(csv.reader(stream)) == HEADER


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("column", "value", "known"),
    [
        ("formats", "individual;couples", "individual, family, group, online"),
        ("age_groups", "toddlers", "children, adolescents, adults, older-adults"),
        ("insurers", "aetna;acme-health", "aetna, ambetter, anthem-bcbs"),
        ("focus_areas", "anger", "grief-loss"),
        ("concerns", "insomnia", "depression"),
        ("languages", "klingon", "ar, zh, en, fr"),
        ("offices", "1 Main St|Brooklyn|Atlantis|11201", "NY"),
        ("licences", "ZZ|license|1", "NY"),
        ("licences", "NY|honorary|1", "license, psypact, counseling-compact, social-work-compact"),
        ("ipt_credentials", "acme|B|2020-01-01", "ipt-institute, isipt"),
        ("ipt_credentials", "ipt-institute|Z|2020-01-01", "A, B, C, D, E, isipt-therapist"),
    ],
)
def test_unknown_vocabulary_is_refused_with_the_known_values(column: str, value: str, known: str) -> None:
    _, outcomes = run(row(1), row(2, **{column: value}))

    assert [outcome.action for outcome in outcomes] == ["create", "refuse"]
    [problem] = outcomes[1].problems
    assert (problem.line, problem.column) == (3, column)
    assert "Unknown" in problem.message and known in problem.message
    assert not Therapist.objects.filter(npi=npi(2)).exists()


def test_vocabulary_values_are_accepted_by_slug_or_name_in_any_case() -> None:
    summary, _ = run(row(1, insurers="AETNA;unitedhealthcare;Medicare (original)", languages="EN;spanish;zh"))

    assert summary.created == 1
    therapist = Therapist.objects.get(npi=npi(1))
    assert {link.insurer.slug for link in therapist.insurer_links.all()} == {"aetna", "unitedhealthcare", "medicare"}
    assert {language.code for language in therapist.languages.all()} == {"en", "es", "zh"}


def test_each_problem_names_its_line_column_and_what_to_fix() -> None:
    rows = [
        row(1, email="not-an-email"),
        row(2, offices="1 Main St|Brooklyn|NY|90210"),
        row(3, fee_min="200", fee_max="100"),
        row(4, npi="1234567890"),
        row(5, ipt_credentials="ipt-institute|B|2099-01-01"),
        row(6, first_name=""),
        row(7, offices="1 Main St|Brooklyn|NY", formats="individual"),
        row(8, fee_min="about 90"),
        row(9, ipt_credentials="isipt|B|2020-01-01"),
    ]
    summary, outcomes = run(*rows)

    problems = {outcome.line: outcome.problems for outcome in outcomes}
    assert summary.refused == 9 and Therapist.objects.filter(npi__startswith="16").count() == 0

    def one(line: int) -> tuple[str, str]:
        [problem] = problems[line]
        assert problem.line == line
        return problem.column, problem.message

    assert one(2) == ("email", "Enter a valid email address.")
    assert one(3) == ("offices", "Office 1 (postal_code): ZIP code 90210 is in CA, not NY.")
    assert one(4) == ("fee_max", "The highest fee must be at least the lowest fee.")
    assert one(5)[0] == "npi" and "check digit" in one(5)[1]
    assert one(6) == ("ipt_credentials", "Credential 1 (awarded_on): The date awarded cannot be in the future.")
    assert one(7) == ("first_name", "This cell is required.")
    assert one(8)[0] == "offices" and "street|city|state|zip" in one(8)[1]
    assert one(9) == ("fee_min", "“about 90” is not a whole number of dollars, such as 120.")
    assert one(10)[0] == "ipt_credentials" and "does not award" in one(10)[1]


def test_a_row_needs_a_licence_and_an_office_or_online_sessions() -> None:
    _, outcomes = run(row(1, licences="", offices="", formats="individual"))

    assert {(problem.column, problem.message) for problem in outcomes[0].problems} == {
        ("licences", "Give at least one state where the therapist is licensed."),
        ("offices", "Give an office, or the format “online”."),
    }


def test_a_repeated_npi_is_refused_on_its_second_line() -> None:
    summary, outcomes = run(row(1), row(2), row(1, last_name="Other"))

    assert (summary.created, summary.refused) == (2, 1)
    assert outcomes[2].problems[0].column == "npi" and "already on line 2" in outcomes[2].problems[0].message
    assert Therapist.objects.get(npi=npi(1)).last_name == "Import1"


def test_invalid_rows_do_not_stop_the_valid_ones_and_leave_nothing_behind() -> None:
    before = directory_counts()
    _, outcomes = run(row(1), row(2, offices="1 Main St|Brooklyn|NY|00000"), row(3))

    assert [outcome.action for outcome in outcomes] == ["create", "refuse", "create"]
    assert set(Therapist.objects.filter(npi__startswith="16").values_list("npi", flat=True)) == {npi(1), npi(3)}
    after = directory_counts()
    assert after["Therapist"] == before["Therapist"] + 2 and after["Office"] == before["Office"] + 2


@pytest.mark.parametrize(
    ("header", "column", "message"),
    [
        ([name for name in HEADER if name != "licences"], "licences", "Missing column “licences”."),
        ([*HEADER, "favourite_colour"], "favourite_colour", "Unknown column “favourite_colour”."),
    ],
)
def test_a_bad_header_refuses_the_file_on_line_1_and_imports_nothing(
    header: list[str], column: str, message: str
) -> None:
    before = directory_counts()
    summary = import_roster(roster(row(1), header=header), dry_run=False)

    assert summary.file_problems and summary.refused == 1 and summary.created == 0
    [problem] = summary.refused_rows[0].problems
    assert (problem.line, problem.column) == (1, column) and problem.message.startswith(message)
    assert directory_counts() == before


def test_columns_may_come_in_any_order() -> None:
    summary = import_roster(roster(row(1), header=list(reversed(HEADER))), dry_run=False)

    assert summary.created == 1


def test_refused_csv_has_the_rows_as_given_plus_line_column_and_problem() -> None:
    summary, _ = run(row(1), row(2, languages="en;elvish", fee_min="x"))
    out = io.StringIO()

    write_refused_csv(summary, out)

    out.seek(0)
    lines = list(csv.DictReader(out))
    assert list(lines[0]) == [*HEADER, "line", "column", "problem"]
    [refused] = lines
    assert refused["npi"] == npi(2) and refused["languages"] == "en;elvish" and refused["fee_min"] == "x"
    assert refused["line"] == "3" and refused["column"] == "fee_min; languages"
    assert "Unknown language “elvish”" in refused["problem"] and "fee_min: “x”" in refused["problem"]


# ---------------------------------------------------------------- dry run and idempotency


def test_dry_run_reports_what_a_real_run_does_and_changes_nothing() -> None:
    rows = [row(1), row(2, concerns="boredom"), row(3)]
    before = directory_counts()

    dry, dry_outcomes = run(*rows, dry_run=True)

    assert directory_counts() == before
    real, real_outcomes = run(*rows)
    assert [(o.line, o.action, o.problems) for o in dry_outcomes] == [
        (o.line, o.action, o.problems) for o in real_outcomes
    ]
    assert (dry.created, dry.refused) == (real.created, real.refused) == (2, 1)


def test_dry_run_of_an_update_changes_nothing(staff: User) -> None:
    run(row(1), publisher=staff)
    therapist = Therapist.objects.get(npi=npi(1))
    before = (therapist.updated_at, therapist.status, therapist.last_name)

    summary, _ = run(row(1, last_name="Renamed"), dry_run=True)

    therapist.refresh_from_db()
    assert summary.updated == 1 and (therapist.updated_at, therapist.status, therapist.last_name) == before


def test_importing_the_same_file_twice_changes_nothing_the_second_time(staff: User) -> None:
    rows = [row(serial) for serial in range(1, 6)]
    run(*rows, publisher=staff)
    stamps = dict(Therapist.objects.filter(npi__startswith="16").values_list("npi", "updated_at"))
    office_ids = set(Office.objects.filter(therapist__npi__startswith="16").values_list("public_id", flat=True))

    with CaptureQueriesContext(connection) as captured:
        summary, outcomes = run(*rows, publisher=staff)

    assert summary.unchanged == 5 and summary.rows == 5
    assert {outcome.action for outcome in outcomes} == {"unchanged"}
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    assert dict(Therapist.objects.filter(npi__startswith="16").values_list("npi", "updated_at")) == stamps
    assert set(Office.objects.filter(therapist__npi__startswith="16").values_list("public_id", flat=True)) == office_ids


def test_reordered_list_items_are_no_change() -> None:
    run(row(1))

    summary, _ = run(row(1, languages="Spanish;en", licences="NJ|license|;NY|license|R-0001"))

    assert summary.unchanged == 1


# ---------------------------------------------------------------- moderation


def test_a_change_to_what_staff_vouched_for_sends_a_published_profile_back_to_review(staff: User) -> None:
    run(row(1), publisher=staff)
    therapist = Therapist.objects.get(npi=npi(1))
    assert therapist.status == Therapist.Status.PUBLISHED and therapist.ipt_credentials.verified().count() == 1

    summary, _ = run(row(1, licences="NY|license|R-0001;NJ|license|;CT|license|9"))

    therapist.refresh_from_db()
    assert summary.updated == 1 and therapist.status == Therapist.Status.PENDING
    assert not SearchEntry.objects.filter(therapist=therapist).exists()  # out of search until reviewed


def test_with_a_publisher_a_reviewed_change_is_republished_and_new_credentials_verified(staff: User) -> None:
    run(row(1), publisher=staff)

    summary, _ = run(
        row(1, last_name="Married", ipt_credentials="ipt-institute|B|2020-05-01;isipt|isipt-supervisor|2022-01-01"),
        publisher=staff,
    )

    therapist = Therapist.objects.get(npi=npi(1))
    assert summary.updated == 1 and therapist.status == Therapist.Status.PUBLISHED
    assert therapist.last_name == "Married" and therapist.training_level == Therapist.TrainingLevel.SUPERVISOR
    assert therapist.ipt_credentials.verified().count() == 2
    assert SearchEntry.objects.filter(therapist=therapist, last_name="Married").exists()


def test_a_change_staff_need_not_review_keeps_the_profile_published_and_verified(staff: User) -> None:
    run(row(1), publisher=staff)

    summary, _ = run(row(1, fee_min="80", insurers="aetna"))

    therapist = Therapist.objects.get(npi=npi(1))
    assert summary.updated == 1 and therapist.status == Therapist.Status.PUBLISHED
    assert therapist.fee_min == 80 and [link.insurer.slug for link in therapist.insurer_links.all()] == ["aetna"]
    assert therapist.ipt_credentials.verified().count() == 1  # the repeated credential kept its verification


def test_an_update_keeps_a_closed_insurance_panel_closed(staff: User) -> None:
    run(row(1), publisher=staff)
    TherapistInsurer.objects.filter(therapist__npi=npi(1), insurer__slug="aetna").update(accepting_new_clients=False)

    run(row(1, insurers="aetna;cigna;humana"))

    links = TherapistInsurer.objects.filter(therapist__npi=npi(1)).values_list("insurer__slug", "accepting_new_clients")
    assert dict(links) == {"aetna": False, "cigna": True, "humana": True}


def test_only_staff_may_publish(staff: User) -> None:
    someone = User.objects.create_user(username="not-staff")

    with pytest.raises(PermissionDenied):
        run(row(1), publisher=someone)


def test_published_imports_are_found_by_the_public_search(staff: User, api_client: object) -> None:
    run(row(1, last_name="Searchable"), row(2, last_name="Alsofound"), publisher=staff)
    run(row(3, last_name="Pending"))

    response = api_client.get("/api/therapists/", {"near": "11201", "radius": "5", "insurance": "aetna", "q": "Rosa"})

    names = [result["name"] for result in response.json()["results"]]
    assert response.status_code == 200 and "Rosa Searchable" in names and "Rosa Alsofound" in names
    assert "Rosa Pending" not in names
    [card] = [result for result in response.json()["results"] if result["name"] == "Rosa Searchable"]
    assert card["offices"][0]["postal_code"] == "11201" and card["licensed_states"] == ["NJ", "NY"]


# ---------------------------------------------------------------- bounded queries


def test_queries_per_batch_do_not_grow_with_its_rows(staff: User) -> None:
    def queries(rows: list[dict[str, str]]) -> int:
        with CaptureQueriesContext(connection) as captured:
            summary, _ = run(*rows, publisher=staff)
        assert summary.created == len(rows)
        return len(captured.captured_queries)

    one, fifty = queries([row(1)]), queries([row(serial) for serial in range(100, 150)])
    assert fifty <= one + 10, (one, fifty)

    with CaptureQueriesContext(connection) as captured:
        run(*[row(serial) for serial in range(100, 150)], publisher=staff)
    assert len(captured.captured_queries) <= 12  # unchanged rows: the batch's reads only


def test_a_byte_order_mark_and_blank_spreadsheet_rows_are_no_problem() -> None:
    stream = roster(row(1), {name: "" for name in HEADER}, row(2))
    text = "\ufeff" + stream.getvalue()

    summary = import_roster(io.StringIO(text), dry_run=False)

    assert (summary.created, summary.refused, summary.file_problems) == (2, 0, [])


def test_a_refused_update_leaves_the_profile_as_it_was(staff: User) -> None:
    run(row(1), publisher=staff)
    therapist = Therapist.objects.get(npi=npi(1))
    before = (therapist.updated_at, therapist.fee_min, list(therapist.offices.values_list("postal_code", flat=True)))

    summary, outcomes = run(row(1, fee_min="90", offices="1 Main St|Brooklyn|NY|94103"))

    therapist.refresh_from_db()
    assert summary.refused == 1 and outcomes[0].problems[0].column == "offices"
    assert (
        therapist.updated_at,
        therapist.fee_min,
        list(therapist.offices.values_list("postal_code", flat=True)),
    ) == before
    assert therapist.status == Therapist.Status.PUBLISHED


def test_profiles_of_one_name_get_slugs_of_their_own() -> None:
    """A batch's new profiles and an existing one with the same name and NPI ending: each its own page address."""
    base = f"rosa-lee-{npi(1)[-4:]}"
    Therapist.objects.create(first_name="Rosa", last_name="Lee", credentials="LCSW", npi=npi(1), slug=base)
    twins = [Therapist(first_name="Rosa", last_name="Lee", credentials="LCSW", npi=npi(1)) for _ in range(2)]
    assign_slugs(twins)
    assert [twin.slug for twin in twins] == [f"{base}-2", f"{base}-3"]
