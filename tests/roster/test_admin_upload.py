"""Staff upload a roster in the admin: a preview in the background, then the import once confirmed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from directory.models import Therapist
from roster import services, uploads
from roster.models import ImportRow, ImportRun
from tests.conftest import make_user, signed_in
from tests.outbox.conftest import run_worker

pytestmark = pytest.mark.django_db

TEMPLATE = (Path(settings.BASE_DIR) / "fixtures" / "roster-template.csv").read_text(encoding="utf-8")
TEMPLATE_NPIS = ["1904376211", "1904376229", "1904376237"]
HEADER = TEMPLATE.splitlines()[0]


def run_tasks() -> None:
    """What the worker does with the queued tasks, in the test's transaction (as the outbox tests do)."""
    while ready := list(DBTaskResult.objects.ready()):
        for result in ready:
            DBTaskResult.objects.filter(pk=result.pk).update(status=TaskResultStatus.SUCCESSFUL)
            result.task.call(*result.args_kwargs["args"], **result.args_kwargs["kwargs"])


def upload(client: Client, text: str | bytes, *, name: str = "network.csv", publish: bool = False) -> object:
    content = text.encode() if isinstance(text, str) else text
    data = {"file": SimpleUploadedFile(name, content, content_type="text/csv")}
    if publish:
        data["publish"] = "on"
    return client.post("/admin/roster/importrun/add/", data)


def run_page(client: Client, run: ImportRun, query: str = "") -> str:
    response = client.get(f"/admin/roster/importrun/{run.pk}/change/{query}")
    assert response.status_code == 200
    return response.content.decode()


def with_bad_row(text: str) -> str:
    """The template plus a row naming an insurer nobody knows."""
    rows = list(csv.reader(io.StringIO(text)))
    bad = dict(zip(rows[0], rows[1], strict=True)) | {"npi": "1234567893", "insurers": "acme-health"}
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([*rows, [bad[column] for column in rows[0]]])
    return out.getvalue()


@pytest.fixture
def staff(moderator: User) -> Client:
    return signed_in(moderator)


def test_upload_previews_in_the_background_and_changes_nothing(staff: Client) -> None:
    response = upload(staff, TEMPLATE)

    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/roster/importrun/{run.pk}/change/")
    waiting = run_page(staff, run)
    assert "Waiting for the worker" in waiting and '<meta http-equiv="refresh"' in waiting
    assert "<progress" in waiting

    run_tasks()

    run.refresh_from_db()
    assert (run.status, run.rows_total, run.rows_done, run.created, run.refused) == ("previewed", 3, 3, 3, 0)
    assert not Therapist.objects.filter(npi__in=TEMPLATE_NPIS).exists()
    page = run_page(staff, run)
    assert "What the import would do" in page and "Confirm import" in page
    assert "Maria Alvarez" in page and "refresh" not in page


def test_confirm_applies_the_previewed_file_and_reports_what_it_did(staff: Client, moderator: User) -> None:
    upload(staff, TEMPLATE)
    run_tasks()
    run = ImportRun.objects.get()

    response = staff.post(f"/admin/roster/importrun/{run.pk}/confirm/", follow=True)
    assert "Import queued" in response.content.decode()
    run_tasks()

    run.refresh_from_db()
    assert (run.status, run.created, run.updated, run.unchanged, run.confirmed_by) == ("done", 3, 0, 0, moderator)
    imported = Therapist.objects.filter(npi__in=TEMPLATE_NPIS)
    assert imported.count() == 3 and set(imported.values_list("status", flat=True)) == {"pending"}
    page = run_page(staff, run)
    assert "What the import did" in page and "Confirm import" not in page
    again = staff.post(f"/admin/roster/importrun/{run.pk}/confirm/", follow=True)
    assert "not waiting for confirmation" in again.content.decode()
    uploads.apply(run_id=run.pk)  # the import task delivered a second time
    run.refresh_from_db()
    assert (run.created, run.unchanged) == (3, 0)


def test_the_same_file_again_previews_as_unchanged(staff: Client) -> None:
    for _ in range(2):
        upload(staff, TEMPLATE)
        run_tasks()
        run = ImportRun.objects.first()
        staff.post(f"/admin/roster/importrun/{run.pk}/confirm/")
        run_tasks()
    run.refresh_from_db()
    assert (run.created, run.updated, run.unchanged) == (0, 0, 3)


def test_publish_checkbox_publishes_as_the_staff_member_who_confirms(staff: Client) -> None:
    upload(staff, TEMPLATE, publish=True)
    run_tasks()
    run = ImportRun.objects.get()
    staff.post(f"/admin/roster/importrun/{run.pk}/confirm/")
    run_tasks()
    assert set(Therapist.objects.filter(npi__in=TEMPLATE_NPIS).values_list("status", flat=True)) == {"published"}


def test_refused_rows_are_shown_with_line_column_and_reason_and_downloadable(staff: Client) -> None:
    upload(staff, with_bad_row(TEMPLATE))
    run_tasks()
    run = ImportRun.objects.get()

    page = run_page(staff, run, "?action=refuse")
    assert run.refused == 1 and run.created == 3
    assert '<td data-label="Line" class="nowrap">5</td>' in page
    assert "<code>insurers</code>" in page and "acme-health" in page
    assert "David Chen" not in page  # only the refused rows, as filtered
    download = staff.get(f"/admin/roster/importrun/{run.pk}/refused.csv")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert 'filename="network-refused-rows.csv"' in download["Content-Disposition"]
    refused = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert len(refused) == 1 and refused[0]["npi"] == "1234567893" and refused[0]["column"] == "insurers"

    staff.post(f"/admin/roster/importrun/{run.pk}/confirm/")
    run_tasks()
    run.refresh_from_db()
    assert (run.status, run.created, run.refused) == ("done", 3, 1)
    assert "Download refused rows (CSV)" in run_page(staff, run)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("network.xlsx", TEMPLATE.encode(), "Upload a .csv file"),
        ("network.csv", TEMPLATE.encode("utf-16"), "not UTF-8 text"),
        ("network.csv", b"", "file is empty"),
        ("network.csv", b"\n\n", "The file is empty"),
        ("network.csv", b"name,npi\nAda,1234567893\n", "first_name"),
    ],
)
def test_a_bad_file_is_refused_with_a_message_naming_the_file_field(
    staff: Client, name: str, content: bytes, message: str
) -> None:
    response = upload(staff, content, name=name)

    assert response.status_code == 400
    text = response.content.decode()
    assert "Roster file (CSV):" in text and message in text
    assert not ImportRun.objects.exists() and not DBTaskResult.objects.exists()


def test_a_file_over_the_size_limit_is_refused(staff: Client, settings: object) -> None:
    settings.ROSTER_UPLOAD_MAX_MB = 1
    response = upload(staff, TEMPLATE + "x" * (1024 * 1024))
    assert response.status_code == 400 and "larger than 1 MB" in response.content.decode()


def test_a_byte_order_mark_from_a_spreadsheet_is_accepted(staff: Client) -> None:
    upload(staff, "\ufeff" + TEMPLATE)
    run_tasks()
    assert ImportRun.objects.get().created == 3


def test_non_staff_and_staff_without_permission_are_refused(therapist_user: User) -> None:
    response = upload(signed_in(therapist_user), TEMPLATE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    clerk = make_user("clerk", is_staff=True)
    assert upload(signed_in(clerk), TEMPLATE).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_importrun"))
    run = ImportRun.objects.create(file_name="x.csv", csv_text=TEMPLATE, status="previewed")
    assert signed_in(clerk).get(f"/admin/roster/importrun/{run.pk}/change/").status_code == 200
    assert signed_in(clerk).post(f"/admin/roster/importrun/{run.pk}/confirm/").status_code == 403
    assert not ImportRun.objects.exclude(pk=run.pk).exists() and ImportRun.objects.get().status == "previewed"


def test_progress_is_rendered_while_running_and_the_page_refreshes_itself(staff: Client) -> None:
    run = ImportRun.objects.create(
        file_name="big.csv", csv_text=TEMPLATE, status="importing", rows_total=100_000, rows_done=40_000
    )
    page = run_page(staff, run)
    assert '<progress id="roster-progress" max="100000" value="40000">' in page
    assert "Importing: row 40,000 of 100,000." in page
    assert '<meta http-equiv="refresh" content="3">' in page
    assert '<label for="roster-progress">' in page


def test_a_failing_run_is_recorded_as_failed_with_its_message(staff: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(uploads, "import_roster", broken)
    upload(staff, TEMPLATE)
    run_tasks()

    run = ImportRun.objects.get()
    assert run.status == "failed" and "the disk is full" in run.failure
    page = run_page(staff, run)
    assert "the disk is full" in page and "refresh" not in page


def test_run_page_queries_do_not_grow_with_the_rows(staff: Client, django_assert_max_num_queries: object) -> None:
    run = ImportRun.objects.create(file_name="big.csv", csv_text=TEMPLATE, status="previewed", rows_total=2000)
    ImportRow.objects.bulk_create(
        ImportRow(run=run, line=line, npi="1234567893", name="A Name", action="refuse",
                   problems=[{"line": line, "column": "npi", "message": "bad"}])
        for line in range(2, 2002)
    )  # fmt: skip
    with django_assert_max_num_queries(10):
        page = run_page(staff, run, "?page=3")
    assert "Page 3 of 20 (2,000 rows)" in page
    assert page.count("<tr>") == 101  # a page of 100 rows and the header


def test_a_preview_over_several_batches_counts_lines_as_the_file_does_and_keeps_its_progress(
    staff: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quoted cell over two lines and an NPI repeated in a later batch of the dry run: lines and refusals as the
    file gives them, and the outcomes recorded between batches are kept though each batch is rolled back."""
    rows = list(csv.reader(io.StringIO(TEMPLATE)))
    rows[1][rows[0].index("website")] = ""
    rows[2][rows[0].index("phone")] = "212-555-0199\n(office)"
    rows.append(rows[1])  # Maria again, on line 6 (row 3 holds a line break)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    monkeypatch.setattr(uploads, "ROWS_PER_WRITE", 2)
    progress: list[int] = []
    flush = uploads._Tally.flush

    def flush_and_read_progress(tally: uploads._Tally) -> None:
        flush(tally)
        progress.append(ImportRun.objects.get().rows_done)

    monkeypatch.setattr(uploads._Tally, "flush", flush_and_read_progress)

    upload(staff, out.getvalue())
    run_tasks()

    outcomes = list(ImportRun.objects.get().outcomes.values_list("line", "action"))
    assert [line for line, _ in outcomes] == [2, 3, 5, 6]
    assert outcomes[-1] == (6, "refuse")
    assert "already on line 2" in run_page(staff, ImportRun.objects.get(), "?action=refuse")
    assert progress[:2] == [2, 4]  # written during the dry run, between its batches
    assert not Therapist.objects.filter(npi__in=[row[rows[0].index("npi")] for row in rows[1:]]).exists()


def test_deleting_a_run_of_many_rows_names_the_run_and_counts_its_rows(
    staff: Client, django_assert_max_num_queries: object
) -> None:
    run = ImportRun.objects.create(file_name="big.csv", csv_text=TEMPLATE, status="done")
    ImportRow.objects.bulk_create(ImportRow(run=run, line=line, action="create") for line in range(2, 3002))

    with django_assert_max_num_queries(12):
        confirm = staff.get(f"/admin/roster/importrun/{run.pk}/delete/")
    text = confirm.content.decode()
    assert confirm.status_code == 200 and "big.csv" in text and "3000" in text
    staff.post(f"/admin/roster/importrun/{run.pk}/delete/", {"post": "yes"})
    assert not ImportRun.objects.exists() and not ImportRow.objects.exists()


@pytest.fixture
def committed_reference_data(transactional_db: None) -> None:
    """The vocabularies and role groups, for a test whose commits a flush undoes."""
    call_command("loaddata", "reference", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_the_worker_previews_and_imports_with_every_step_committed(committed_reference_data: None) -> None:
    """`manage.py db_worker`, not the test's transaction: the preview's rows survive its rolled-back dry runs."""
    client = signed_in(make_user("boss", is_staff=True, is_superuser=True))
    upload(client, TEMPLATE)
    run = ImportRun.objects.get()

    run_worker()
    run.refresh_from_db()
    assert (run.status, run.rows_done, run.created) == ("previewed", 3, 3)
    assert run.outcomes.count() == 3 and not Therapist.objects.filter(npi__in=TEMPLATE_NPIS).exists()

    client.post(f"/admin/roster/importrun/{run.pk}/confirm/")
    run_worker()
    run.refresh_from_db()
    assert (run.status, run.created) == ("done", 3)
    assert Therapist.objects.filter(npi__in=TEMPLATE_NPIS).count() == 3
