"""The NPPES monthly data dissemination file (npidata_pfile_*.csv): its layout, a streaming reader and a writer.

Pure Python, no Django. The layout is CMS's "Data File Layout" (NPPES Data Dissemination Readme, exhibit
2-1): 330 columns, every value in double quotes, one NPI a row, dates as MM/DD/YYYY. The reader keeps
only the columns below and only the rows asked for, so a 9 GB file streams in bounded memory.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO

SLOTS = 15  # taxonomy and licence slots
OTHER_IDENTIFIERS = 50

HEADER: list[str] = [
    "NPI", "Entity Type Code", "Replacement NPI", "Employer Identification Number (EIN)",
    "Provider Organization Name (Legal Business Name)", "Provider Last Name (Legal Name)", "Provider First Name",
    "Provider Middle Name", "Provider Name Prefix Text", "Provider Name Suffix Text", "Provider Credential Text",
    "Provider Other Organization Name", "Provider Other Organization Name Type Code", "Provider Other Last Name",
    "Provider Other First Name", "Provider Other Middle Name", "Provider Other Name Prefix Text",
    "Provider Other Name Suffix Text", "Provider Other Credential Text", "Provider Other Last Name Type Code",
    "Provider First Line Business Mailing Address", "Provider Second Line Business Mailing Address",
    "Provider Business Mailing Address City Name", "Provider Business Mailing Address State Name",
    "Provider Business Mailing Address Postal Code",
    "Provider Business Mailing Address Country Code (If outside U.S.)",
    "Provider Business Mailing Address Telephone Number", "Provider Business Mailing Address Fax Number",
    "Provider First Line Business Practice Location Address",
    "Provider Second Line Business Practice Location Address",
    "Provider Business Practice Location Address City Name", "Provider Business Practice Location Address State Name",
    "Provider Business Practice Location Address Postal Code",
    "Provider Business Practice Location Address Country Code (If outside U.S.)",
    "Provider Business Practice Location Address Telephone Number",
    "Provider Business Practice Location Address Fax Number", "Provider Enumeration Date", "Last Update Date",
    "NPI Deactivation Reason Code", "NPI Deactivation Date", "NPI Reactivation Date", "Provider Sex Code",
    "Authorized Official Last Name", "Authorized Official First Name", "Authorized Official Middle Name",
    "Authorized Official Title or Position", "Authorized Official Telephone Number",
    *(
        name
        for slot in range(1, SLOTS + 1)
        for name in (
            f"Healthcare Provider Taxonomy Code_{slot}", f"Provider License Number_{slot}",
            f"Provider License Number State Code_{slot}", f"Healthcare Provider Primary Taxonomy Switch_{slot}",
        )
    ),
    *(
        name
        for slot in range(1, OTHER_IDENTIFIERS + 1)
        for name in (
            f"Other Provider Identifier_{slot}", f"Other Provider Identifier Type Code_{slot}",
            f"Other Provider Identifier State_{slot}", f"Other Provider Identifier Issuer_{slot}",
        )
    ),
    "Is Sole Proprietor", "Is Organization Subpart", "Parent Organization LBN", "Parent Organization TIN",
    "Authorized Official Name Prefix Text", "Authorized Official Name Suffix Text",
    "Authorized Official Credential Text",
    *(f"Healthcare Provider Taxonomy Group_{slot}" for slot in range(1, SLOTS + 1)),
    "Certification Date",
]  # fmt: skip

# The columns the checks and the pre-fill read; any other column may be absent, renamed or reordered.
PRACTICE = "Provider Business Practice Location Address"
READ = {
    "npi": "NPI",
    "entity_type": "Entity Type Code",
    "last_name": "Provider Last Name (Legal Name)",
    "first_name": "Provider First Name",
    "credential": "Provider Credential Text",
    "other_last_name": "Provider Other Last Name",
    "address": "Provider First Line Business Practice Location Address",
    "city": f"{PRACTICE} City Name",
    "state": f"{PRACTICE} State Name",
    "postal_code": f"{PRACTICE} Postal Code",
    "phone": f"{PRACTICE} Telephone Number",
    "deactivated_on": "NPI Deactivation Date",
    "reactivated_on": "NPI Reactivation Date",
}
TAXONOMY_COLUMNS = [f"Healthcare Provider Taxonomy Code_{slot}" for slot in range(1, SLOTS + 1)]
LICENCE_COLUMNS = [
    (f"Provider License Number_{slot}", f"Provider License Number State Code_{slot}") for slot in range(1, SLOTS + 1)
]
INDIVIDUAL = "1"


class LayoutError(ValueError):
    """The file's header lacks columns the check reads."""


@dataclass(frozen=True)
class NppesRecord:
    """One NPI's row, reduced to what the directory compares and pre-fills."""

    npi: str
    entity_type: str
    last_name: str
    first_name: str
    credential: str
    other_last_name: str
    address: str
    city: str
    state: str
    postal_code: str
    phone: str
    deactivated_on: datetime.date | None
    reactivated_on: datetime.date | None
    taxonomies: tuple[str, ...]
    licences: tuple[tuple[str, str], ...]  # (state code, licence number)

    @property
    def is_deactivated(self) -> bool:
        """Deactivated, and not reactivated since."""
        if self.deactivated_on is None:
            return False
        return self.reactivated_on is None or self.reactivated_on < self.deactivated_on

    @property
    def is_individual(self) -> bool:
        return self.entity_type == INDIVIDUAL


def parse_date(text: str) -> datetime.date | None:
    """An NPPES date (MM/DD/YYYY); None when blank or malformed."""
    try:
        return datetime.datetime.strptime(text.strip(), "%m/%d/%Y").date() if text.strip() else None
    except ValueError:
        return None


class NppesReader:
    """Streams an NPPES data file row by row; `rows_read` counts the data rows seen so far."""

    def __init__(self, stream: IO[str]) -> None:
        self.rows = csv.reader(stream)
        header = [name.strip() for name in next(self.rows, [])]
        positions = {name: index for index, name in enumerate(header)}
        wanted = [*READ.values(), *TAXONOMY_COLUMNS, *(name for pair in LICENCE_COLUMNS for name in pair)]
        missing = [name for name in wanted if name not in positions]
        if missing:
            raise LayoutError(f"Not an NPPES data file: the header lacks {', '.join(repr(m) for m in missing[:5])}.")
        self.fields = {field: positions[name] for field, name in READ.items()}
        self.npi_index = self.fields["npi"]
        self.taxonomy_indices = [positions[name] for name in TAXONOMY_COLUMNS]
        self.licence_indices = [(positions[number], positions[state]) for number, state in LICENCE_COLUMNS]
        self.width = len(header)
        self.rows_read = 0

    def records(
        self, *, listed: Container[str], keep_taxonomies: Container[str] | None = None
    ) -> Iterator[NppesRecord]:
        """The rows whose NPI is in `listed`; with `keep_taxonomies`, also the rows holding one of those codes
        and the deactivated ones (whose other fields the file leaves blank). Any other row is skipped after a
        set lookup or two, without building a record."""
        npi_index, deactivated_index = self.npi_index, self.fields["deactivated_on"]
        codes = frozenset(keep_taxonomies) if keep_taxonomies is not None else None
        # The 15 taxonomy codes in one slice when evenly spaced (CMS's layout: every 4th column), read in C.
        first, second = self.taxonomy_indices[0], self.taxonomy_indices[1]
        step = second - first
        regular = step > 0 and self.taxonomy_indices == list(range(first, first + step * SLOTS, step))
        for row in self.rows:
            self.rows_read += 1
            if len(row) < self.width:
                row = row + [""] * (self.width - len(row))
            if row[npi_index] in listed:
                yield self._record(row)
            elif codes is not None:
                taxonomies = row[first : first + step * SLOTS : step] if regular else self._taxonomies(row)
                if row[deactivated_index] or not codes.isdisjoint(taxonomies):
                    yield self._record(row)

    def _taxonomies(self, row: list[str]) -> list[str]:
        return [row[index] for index in self.taxonomy_indices]

    def _record(self, row: list[str]) -> NppesRecord:
        value = {field: row[index].strip() for field, index in self.fields.items()}
        return NppesRecord(
            npi=value["npi"],
            entity_type=value["entity_type"],
            last_name=value["last_name"],
            first_name=value["first_name"],
            credential=value["credential"],
            other_last_name=value["other_last_name"],
            address=value["address"],
            city=value["city"],
            state=value["state"],
            postal_code=value["postal_code"],
            phone=value["phone"],
            deactivated_on=parse_date(value["deactivated_on"]),
            reactivated_on=parse_date(value["reactivated_on"]),
            taxonomies=tuple(row[index].strip() for index in self.taxonomy_indices if row[index].strip()),
            licences=tuple(
                (row[state].strip().upper(), row[number].strip())
                for number, state in self.licence_indices
                if row[number].strip()
            ),
        )


def row_values(values: Mapping[str, str]) -> list[str]:
    """A full 330-column row from {column name: value}; unnamed columns blank. KeyError names an unknown column."""
    row = [""] * len(HEADER)
    for name, value in values.items():
        row[COLUMN_INDEX[name]] = value
    return row


def write_file(stream: IO[str], rows: Iterable[Mapping[str, str]]) -> int:
    """Write an NPPES-layout file (the header, then one row per mapping), every value quoted as CMS does."""
    writer = csv.writer(stream, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(HEADER)
    written = 0
    for values in rows:
        writer.writerow(row_values(values))
        written += 1
    return written


COLUMN_INDEX = {name: index for index, name in enumerate(HEADER)}
