"""NPPES files for the tests, written in the real 330-column layout (registry.nppes.HEADER)."""

from __future__ import annotations

from pathlib import Path

from registry.nppes import write_file


def nppes_row(
    npi: str,
    *,
    last_name: str = "ACCEPTING",
    first_name: str = "DANA",
    credential: str = "LCSW",
    postal_code: str = "112151234",
    licences: tuple[tuple[str, str], ...] = (),
    taxonomies: tuple[str, ...] = ("1041C0700X",),
    deactivated_on: str = "",
    reactivated_on: str = "",
    entity_type: str = "1",
    **columns: str,
) -> dict[str, str]:
    """One provider's row by the file's own column names; licences pair with taxonomy slots as in NPPES."""
    row = {
        "NPI": npi,
        "Entity Type Code": entity_type,
        "Provider Last Name (Legal Name)": last_name,
        "Provider First Name": first_name,
        "Provider Credential Text": credential,
        "Provider First Line Business Practice Location Address": "1 TEST ST",
        "Provider Business Practice Location Address City Name": "BROOKLYN",
        "Provider Business Practice Location Address State Name": "NY",
        "Provider Business Practice Location Address Postal Code": postal_code,
        "Provider Business Practice Location Address Country Code (If outside U.S.)": "US",
        "Provider Business Practice Location Address Telephone Number": "7185550100",
        "Provider Enumeration Date": "05/23/2007",
        "Last Update Date": "01/15/2025",
        "NPI Deactivation Date": deactivated_on,
        "NPI Reactivation Date": reactivated_on,
        "Provider Sex Code": "F",
        **columns,
    }
    for slot, code in enumerate(taxonomies, start=1):
        row[f"Healthcare Provider Taxonomy Code_{slot}"] = code
        row[f"Healthcare Provider Primary Taxonomy Switch_{slot}"] = "Y" if slot == 1 else "N"
    for slot, (state, number) in enumerate(licences, start=1):
        row[f"Provider License Number_{slot}"] = number
        row[f"Provider License Number State Code_{slot}"] = state
    return row


def write_nppes(directory: Path, rows: list[dict[str, str]], name: str = "npidata_pfile_20250101-20250131.csv") -> Path:
    path = directory / name
    with path.open("w", newline="", encoding="utf-8") as stream:
        write_file(stream, rows)
    return path
