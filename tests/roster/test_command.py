"""`manage.py import_roster`: its output, the refused-rows file, the publisher, and exit codes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from directory.models import Therapist
from roster.services import HEADER
from tests.roster.test_import import npi, row

pytestmark = pytest.mark.django_db

TEMPLATE = Path(settings.BASE_DIR) / "fixtures" / "roster-template.csv"


def write(path: Path, *rows: dict[str, str], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=header or HEADER, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def import_roster(*arguments: str) -> str:
    out = io.StringIO()
    call_command("import_roster", *arguments, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_dry_run_prints_each_refusal_and_the_counts_and_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.csv", row(1), row(2, languages="klingon"))

    output = import_roster(str(path), "--dry-run")

    assert f"line 3 (NPI {npi(2)}, Rosa Import2): refuse" in output
    assert "line 3, column languages: Unknown language “klingon”" in output
    assert output.strip().endswith(
        "2 rows: 1 would be created, 0 would be updated, 0 unchanged, 1 refused (dry run: nothing was changed)"
    )
    assert not Therapist.objects.filter(npi__in=[npi(1), npi(2)]).exists()


def test_import_then_again_reports_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.csv", row(1), row(2))

    first = import_roster(str(path))
    second = import_roster(str(path))

    assert first.strip() == "2 rows: 2 created, 0 updated, 0 unchanged, 0 refused"
    assert second.strip() == "2 rows: 0 created, 0 updated, 2 unchanged, 0 refused"


def test_the_shipped_template_imports_and_publishes_as_a_staff_user() -> None:
    User.objects.create_user(username="registrar", is_staff=True)

    output = import_roster(str(TEMPLATE), "--publish-as", "registrar")

    assert output.strip() == "3 rows: 3 created, 0 updated, 0 unchanged, 0 refused"
    imported = Therapist.objects.filter(last_name__in=["Alvarez", "Chen", "Bello"])
    assert set(imported.values_list("status", flat=True)) == {Therapist.Status.PUBLISHED}


def test_refused_rows_are_written_to_the_named_file(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.csv", row(1), row(2, fee_max="lots"))
    refused = tmp_path / "refused.csv"

    import_roster(str(path), "--refused", str(refused))

    with refused.open(newline="", encoding="utf-8") as stream:
        [line] = list(csv.DictReader(stream))
    assert (line["npi"], line["line"], line["column"]) == (npi(2), "3", "fee_max")


@pytest.mark.parametrize(
    ("setup", "arguments", "message"),
    [
        (None, ["missing.csv"], "Cannot read"),
        ("bad-header", ["roster.csv"], "is not a usable roster: line 1: Missing column “npi”"),
        ("not-utf8", ["roster.csv"], "not UTF-8"),
        ("roster", ["roster.csv", "--publish-as", "nobody"], "no active staff user “nobody”"),
        ("roster", ["roster.csv", "--publish-as", "clerk"], "no active staff user “clerk”"),
    ],
)
def test_an_unusable_file_or_publisher_exits_with_a_message(
    tmp_path: Path, setup: str | None, arguments: list[str], message: str
) -> None:
    User.objects.create_user(username="clerk", is_staff=False)
    if setup == "bad-header":
        write(tmp_path / "roster.csv", row(1), header=[name for name in HEADER if name != "npi"])
    elif setup == "not-utf8":
        (tmp_path / "roster.csv").write_bytes(",".join(HEADER).encode() + "\nJos\xe9,".encode("latin-1"))
    elif setup == "roster":
        write(tmp_path / "roster.csv", row(1))

    with pytest.raises(CommandError, match=message):
        import_roster(*[str(tmp_path / argument) if argument.endswith(".csv") else argument for argument in arguments])
    assert not Therapist.objects.filter(npi=npi(1)).exists()


def test_the_command_exits_zero_when_rows_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.csv", row(1, npi="1"))

    output = import_roster(str(path))

    assert "1 refused" in output
