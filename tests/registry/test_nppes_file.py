"""The NPPES file layout and its streaming reader (no database)."""

from __future__ import annotations

import csv
import datetime
import io
from pathlib import Path

import pytest

from registry.nppes import HEADER, LayoutError, NppesReader
from registry.rules import LICENCE, POSTAL_CODE, Listing, compare, licence_key, zip5
from tests.registry.conftest import nppes_row, write_nppes


def test_layout_is_the_cms_data_file_with_its_330_columns_in_order() -> None:
    assert len(HEADER) == 330 and len(set(HEADER)) == 330
    assert HEADER[:3] == ["NPI", "Entity Type Code", "Replacement NPI"]
    assert HEADER.index("Provider Business Practice Location Address Postal Code") == 32
    assert HEADER[39:41] == ["NPI Deactivation Date", "NPI Reactivation Date"]
    assert HEADER[47:51] == [
        "Healthcare Provider Taxonomy Code_1",
        "Provider License Number_1",
        "Provider License Number State Code_1",
        "Healthcare Provider Primary Taxonomy Switch_1",
    ]
    assert HEADER[106] == "Healthcare Provider Primary Taxonomy Switch_15"
    assert HEADER[-1] == "Certification Date"


def test_written_file_quotes_every_value_like_cms(tmp_path: Path) -> None:
    path = write_nppes(tmp_path, [nppes_row("1234567893")])
    header, row = path.read_text().splitlines()
    assert header.startswith('"NPI","Entity Type Code","Replacement NPI",')
    assert row.startswith('"1234567893","1","",')
    assert len(next(csv.reader([row]))) == 330


def test_reader_yields_only_the_listed_npis_and_counts_every_row(tmp_path: Path) -> None:
    rows = [nppes_row(f"10000000{index:02d}") for index in range(30)]
    rows.append(nppes_row("1234567893", licences=(("NY", "012345"), ("NJ", "44SC0001")), reactivated_on=""))
    with write_nppes(tmp_path, rows).open(newline="") as stream:
        reader = NppesReader(stream)
        records = list(reader.records(listed={"1234567893"}))
    assert reader.rows_read == 31
    assert [record.npi for record in records] == ["1234567893"]
    assert records[0].licences == (("NY", "012345"), ("NJ", "44SC0001"))
    assert records[0].postal_code == "112151234" and records[0].taxonomies == ("1041C0700X",)


def test_reader_keeps_behavioural_health_and_deactivated_rows_when_asked(tmp_path: Path) -> None:
    rows = [
        nppes_row("1000000001", taxonomies=("207Q00000X",)),  # family medicine: skipped
        nppes_row("1000000002", taxonomies=("207Q00000X", "101YM0800X")),
        nppes_row("1000000003", taxonomies=(), deactivated_on="03/01/2024", last_name=""),
    ]
    with write_nppes(tmp_path, rows).open(newline="") as stream:
        records = list(NppesReader(stream).records(listed=set(), keep_taxonomies={"101YM0800X"}))
    assert [record.npi for record in records] == ["1000000002", "1000000003"]


def test_a_file_without_the_columns_read_is_refused_naming_them() -> None:
    with pytest.raises(LayoutError, match="Provider Last Name"):
        NppesReader(io.StringIO('"NPI","Entity Type Code"\n"1234567893","1"\n'))


@pytest.mark.parametrize(
    ("deactivated", "reactivated", "is_deactivated"),
    [
        ("", "", False),
        ("03/01/2024", "", True),
        ("03/01/2024", "06/01/2024", False),
        ("06/01/2024", "03/01/2024", True),
    ],
)
def test_deactivated_means_a_deactivation_without_a_later_reactivation(
    tmp_path: Path, deactivated: str, reactivated: str, is_deactivated: bool
) -> None:
    path = write_nppes(tmp_path, [nppes_row("1234567893", deactivated_on=deactivated, reactivated_on=reactivated)])
    with path.open(newline="") as stream:
        (record,) = NppesReader(stream).records(listed={"1234567893"})
    assert record.is_deactivated is is_deactivated
    if deactivated:
        assert record.deactivated_on == datetime.datetime.strptime(deactivated, "%m/%d/%Y").date()


def test_licence_numbers_compare_without_case_spaces_or_dashes(tmp_path: Path) -> None:
    assert licence_key("lcsw-012 345") == licence_key("LCSW012345")
    assert zip5("112151234") == zip5("11215-1234") == "11215"
    path = write_nppes(tmp_path, [nppes_row("1234567893", licences=(("NY", "R-012345"),), postal_code="112170000")])
    with path.open(newline="") as stream:
        (record,) = NppesReader(stream).records(listed={"1234567893"})
    same = Listing(1, "1234567893", "Accepting", ("11217",), (("NY", "r 012345"),))
    assert compare(same, record) == []
    # CA is not in the registry record: individuals often list one state, so it is not compared.
    other = Listing(1, "1234567893", "Accepting", ("11215", "10001"), (("NY", "012346"), ("CA", "LCSW 1")))
    assert [(d.kind, d.state) for d in compare(other, record)] == [(POSTAL_CODE, ""), (LICENCE, "NY")]
