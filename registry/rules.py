"""What counts as a difference between a listing and its NPI registry record. Pure Python, no Django."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from registry.nppes import NppesRecord

NOT_FOUND = "not-found"
DEACTIVATED = "deactivated"
LAST_NAME = "last-name"
POSTAL_CODE = "postal-code"
LICENCE = "licence"
KINDS = {
    NOT_FOUND: "NPI not in the registry",
    DEACTIVATED: "NPI deactivated",
    LAST_NAME: "Last name differs",
    POSTAL_CODE: "Practice ZIP differs from every office",
    LICENCE: "Licence number differs",
}


@dataclass(frozen=True, slots=True)
class Listing:
    """What the directory says of one therapist, as the comparison needs it."""

    therapist_id: int
    npi: str
    last_name: str
    postal_codes: tuple[str, ...]  # of every office
    licences: tuple[tuple[str, str], ...]  # (state, licence number), numbers given only


@dataclass(frozen=True, slots=True)
class Discrepancy:
    kind: str
    listed: str = ""
    registry: str = ""
    state: str = ""


def name_key(name: str) -> str:
    """A name without case, accents, spaces, hyphens or apostrophes: "O'Brien-Smith" = "OBRIEN SMITH"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(character for character in decomposed if character.isalnum()).casefold()


def licence_key(number: str) -> str:
    """A licence number without case, spaces, dashes or dots: "lcsw-012 345" = "LCSW012345"."""
    return re.sub(r"[\s\-.]", "", number).upper()


def zip5(postal_code: str) -> str:
    """The 5-digit ZIP of a postal code, NPPES's 9 digits without a dash ("112151234") or "11215-1234"."""
    return re.sub(r"\D", "", postal_code)[:5]


def compare(listing: Listing, record: NppesRecord) -> list[Discrepancy]:
    """The differences between a listing and its NPI's registry record.

    A deactivated NPI is that one difference (its other fields are blank in the file). The last name
    matches either the legal or the other last name (a professional or former name). The practice ZIP
    is compared with every office's ZIP (none: not compared). A licence number is compared only in a
    state where the registry lists at least one licence: individuals often list one state only.
    """
    if record.is_deactivated:
        return [Discrepancy(DEACTIVATED, registry=f"{record.deactivated_on:%Y-%m-%d}")]
    differences = []
    listed_name = name_key(listing.last_name)
    if listed_name not in {name_key(record.last_name), name_key(record.other_last_name)}:
        differences.append(Discrepancy(LAST_NAME, listed=listing.last_name, registry=record.last_name))
    practice_zip = zip5(record.postal_code)
    office_zips = {zip5(code) for code in listing.postal_codes}
    if office_zips and practice_zip not in office_zips:
        differences.append(Discrepancy(POSTAL_CODE, listed=", ".join(sorted(office_zips)), registry=practice_zip))
    registry_numbers: dict[str, set[str]] = {}
    for state, number in record.licences:
        registry_numbers.setdefault(state, set()).add(licence_key(number))
    for state, number in listing.licences:
        if state in registry_numbers and licence_key(number) not in registry_numbers[state]:
            registry = ", ".join(number for code, number in record.licences if code == state)
            differences.append(Discrepancy(LICENCE, listed=number, registry=registry, state=state))
    return differences
