"""`manage.py check_nppes FILE`: every mismatch kind found, deactivated NPIs suspended, the run stored."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.models import LicensedState, Therapist
from registry import services as registry_services
from registry.models import NppesCheck, NppesFinding, RegistryProvider
from registry.nppes import row_values
from tests.conftest import make_therapist, make_user, signed_in, valid_npi
from tests.registry.conftest import nppes_row, write_nppes

pytestmark = pytest.mark.django_db


def run_check(path: Path, *options: str) -> str:
    out = io.StringIO()
    call_command("check_nppes", str(path), *options, stdout=out)
    return out.getvalue()


def kinds_of(therapist: Therapist) -> list[str]:
    return sorted(NppesFinding.objects.filter(therapist=therapist).values_list("kind", flat=True))


@pytest.fixture
def listings(db: None) -> dict[str, Therapist]:
    """Five listed therapists, each with one thing the registry says otherwise, and one who matches."""
    names = ["matching", "renamed", "moved", "relicensed", "ended", "unknown"]
    therapists = {}
    for index, name in enumerate(names):
        therapist = make_therapist(npi=valid_npi(f"19100000{index}"), first_name="Pat", last_name=name.title())
        LicensedState.objects.filter(therapist=therapist).update(license_number="R-012345")
        therapists[name] = therapist
    therapists["ended"].user = make_user("ended", "therapists", email="ended@therapy.example")
    therapists["ended"].save(update_fields=["user"])
    return therapists


@pytest.fixture
def nppes_file(tmp_path: Path, listings: dict[str, Therapist]) -> Path:
    def row(name: str, **changes: object) -> dict[str, str]:
        values = {"last_name": name.upper(), "licences": (("NY", "r012345"),), **changes}
        return nppes_row(listings[name].npi, **values)

    rows = [
        nppes_row("1999999992", last_name="UNLISTED"),
        row("matching", postal_code="112151234"),
        row("renamed", last_name="SOMEONE-ELSE"),
        row("moved", postal_code="100010000"),
        row("relicensed", licences=(("NY", "R-099999"),)),
        nppes_row(listings["ended"].npi, last_name="", taxonomies=(), deactivated_on="03/01/2025"),
    ]
    return write_nppes(tmp_path, rows)


def test_each_kind_of_mismatch_is_found_and_stored_with_its_values(
    nppes_file: Path, listings: dict[str, Therapist]
) -> None:
    output = run_check(nppes_file, "--report-only")

    assert kinds_of(listings["matching"]) == []
    assert kinds_of(listings["renamed"]) == ["last-name"]
    assert kinds_of(listings["moved"]) == ["postal-code"]
    assert kinds_of(listings["relicensed"]) == ["licence"]
    assert kinds_of(listings["ended"]) == ["deactivated"]
    assert kinds_of(listings["unknown"]) == ["not-found"]
    licence = NppesFinding.objects.get(therapist=listings["relicensed"])
    assert (licence.state, licence.listed_value, licence.registry_value) == ("NY", "R-012345", "R-099999")
    moved = NppesFinding.objects.get(therapist=listings["moved"])
    assert (moved.listed_value, moved.registry_value) == ("11215", "10001")
    check = NppesCheck.objects.get()
    assert (
        check.rows_read == 6
        and check.therapists_checked == Therapist.objects.filter(status__in=["published", "pending"]).count()
    )
    assert "6 rows read" in output and "last-name: 1" in output


def test_listings_read_a_few_at_a_time_give_the_same_findings_and_a_later_row_replaces_an_earlier(
    nppes_file: Path, listings: dict[str, Therapist], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two listings per batch: the six rows fall in three batches, and the repeated NPI in another.
    monkeypatch.setattr(registry_services, "LISTING_BATCH", 2)
    with nppes_file.open("a", encoding="utf-8") as stream:
        later = row_values(nppes_row(listings["renamed"].npi, last_name="RENAMED"))
        csv.writer(stream, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(later)

    run_check(nppes_file, "--report-only")

    found = {name: kinds_of(therapist) for name, therapist in listings.items()}
    assert found == {"matching": [], "renamed": [], "moved": ["postal-code"], "relicensed": ["licence"],
                     "ended": ["deactivated"], "unknown": ["not-found"]}  # fmt: skip
    assert NppesCheck.objects.get().findings_count == NppesFinding.objects.count()


def test_the_check_reads_listings_by_batch_not_one_by_one(tmp_path: Path, listings: dict[str, Therapist]) -> None:
    def queries_for(count: int) -> int:
        rows = [nppes_row(therapist.npi, last_name=therapist.last_name.upper()) for therapist in listings.values()]
        with CaptureQueriesContext(connection) as captured:
            run_check(write_nppes(tmp_path, rows[:count]), "--report-only")
        return len(captured)

    # Every listing named, or all but one (then found "not found"): the same queries either way.
    for index in range(6):
        make_therapist(npi=valid_npi(f"19300000{index}"), last_name=f"More{index}")
    assert queries_for(len(listings)) == queries_for(len(listings) - 1)


def test_report_only_suspends_and_emails_nobody(nppes_file: Path, listings: dict[str, Therapist]) -> None:
    run_check(nppes_file, "--report-only")

    listings["ended"].refresh_from_db()
    assert listings["ended"].status == Therapist.Status.PUBLISHED
    assert NppesCheck.objects.get().suspended_count == 0
    assert mail.outbox == []


def test_a_deactivated_npi_suspends_its_listing_and_tells_the_therapist_and_staff(
    nppes_file: Path, listings: dict[str, Therapist], settings: object
) -> None:
    settings.MANAGERS = [("Staff", "staff@ipt-directory.example")]

    run_check(nppes_file)

    ended = Therapist.objects.get(pk=listings["ended"].pk)
    assert ended.status == Therapist.Status.SUSPENDED
    assert "deactivated on 2025-03-01" in ended.moderation_note
    assert NppesFinding.objects.get(therapist=ended).suspended is True
    assert Therapist.objects.get(pk=listings["renamed"].pk).status == Therapist.Status.PUBLISHED
    to_therapist = [message for message in mail.outbox if message.to == ["ended@therapy.example"]]
    assert len(to_therapist) == 1 and "deactivated" in to_therapist[0].body
    to_staff = [message for message in mail.outbox if message.to == ["staff@ipt-directory.example"]]
    assert len(to_staff) == 1 and ended.full_name in to_staff[0].body
    assert "/admin/registry/nppesfinding/" in to_staff[0].body

    # The next month's file says the same: nothing suspended twice, nobody emailed again.
    mail.outbox.clear()
    run_check(nppes_file)
    assert NppesCheck.objects.first().suspended_count == 0 and mail.outbox == []


def test_a_reactivated_npi_is_not_suspended(tmp_path: Path, listings: dict[str, Therapist]) -> None:
    row = nppes_row(listings["ended"].npi, last_name="ENDED", deactivated_on="03/01/2024", reactivated_on="04/01/2024")
    run_check(write_nppes(tmp_path, [row]))

    assert Therapist.objects.get(pk=listings["ended"].pk).status == Therapist.Status.PUBLISHED
    assert kinds_of(listings["ended"]) == []


def test_keep_providers_keeps_behavioural_health_individuals_only(tmp_path: Path) -> None:
    counselor, family_doctor, clinic = valid_npi("192000001"), valid_npi("192000002"), valid_npi("192000003")
    rows = [
        nppes_row(counselor, taxonomies=("101YM0800X",), licences=(("NY", "012345"),)),
        nppes_row(family_doctor, taxonomies=("207Q00000X",)),
        nppes_row(clinic, entity_type="2", taxonomies=("261QM0801X", "101YM0800X")),
    ]
    run_check(write_nppes(tmp_path, rows), "--keep-providers")
    kept = RegistryProvider.objects.get()
    assert (kept.npi, kept.last_name, kept.postal_code, kept.licences) == (
        counselor,
        "ACCEPTING",
        "11215",
        [["NY", "012345"]],
    )

    # Next month the NPI is deactivated: the kept record goes.
    run_check(
        write_nppes(tmp_path, [nppes_row(counselor, deactivated_on="03/01/2025", taxonomies=())]), "--keep-providers"
    )
    assert not RegistryProvider.objects.exists()


def test_a_file_that_is_not_an_nppes_file_stops_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("name,zip\nDana,11215\n")
    with pytest.raises(CommandError, match="Not an NPPES data file"):
        run_check(path)
    with pytest.raises(CommandError, match="No such file"):
        run_check(tmp_path / "missing.csv")
    assert not NppesCheck.objects.exists()


def test_staff_see_the_findings_filtered_by_kind_linking_to_the_therapist(
    nppes_file: Path, listings: dict[str, Therapist], moderator: User, django_assert_max_num_queries: object
) -> None:
    run_check(nppes_file, "--report-only")
    client = signed_in(moderator)

    response = client.get("/admin/registry/nppesfinding/", {"kind__exact": "last-name"})
    page = response.content.decode()
    assert response.status_code == 200
    assert f"/admin/directory/therapist/{listings['renamed'].pk}/change/" in page
    assert "SOMEONE-ELSE" in page and "Moved" not in page

    with django_assert_max_num_queries(12):
        client.get("/admin/registry/nppesfinding/")
    assert client.get("/admin/registry/nppescheck/").status_code == 200
