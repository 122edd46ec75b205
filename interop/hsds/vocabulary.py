"""The directory's own HSDS taxonomies: its vocabularies as taxonomy terms, with stable ids.

HSDS has no field for an IPT focus area, an insurer, an NPI or a licence, so each
travels as an `attribute` pointing at a term of one of these taxonomies
(docs/interop-hsds.md lists them). A term's id is `uuid5` of the taxonomy's key
and the item's slug (a language's ISO code), so it never changes while the slug
does not.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cached_property, lru_cache

from directory.models import AGE_GROUPS, FORMATS, Concern, FocusArea, Insurer, Language, Therapist
from directory.vocabularies import reference_rows
from interop.hsds import ids

VERSION = "1"


@dataclass(frozen=True)
class Taxonomy:
    key: str
    name: str
    description: str

    @cached_property
    def id(self) -> uuid.UUID:
        return ids.named("taxonomy", self.key)

    def as_hsds(self) -> dict:
        return {"id": str(self.id), "name": self.name, "description": self.description, "version": VERSION}


@dataclass(frozen=True)
class Term:
    taxonomy: Taxonomy
    code: str
    name: str
    description: str

    @property
    def id(self) -> uuid.UUID:
        return term_id(self.taxonomy.key, self.code)

    @property
    def id_text(self) -> str:
        return term_id_text(self.taxonomy.key, self.code)

    def as_hsds(self) -> dict:
        return {
            "id": str(self.id),
            "code": self.code,
            "name": self.name,
            "description": self.description,
            "taxonomy": self.taxonomy.name,
            "taxonomy_id": str(self.taxonomy.id),
            "language": "en",
        }


FORMAT = Taxonomy(
    "format",
    "IPT Directory: session formats",
    "How sessions happen: individual, family or group at an office, or online (telehealth).",
)
FOCUS_AREA = Taxonomy(
    "focus_area", "IPT Directory: IPT focus areas", "The interpersonal therapy problem areas a therapist works on."
)
CONCERN = Taxonomy("concern", "IPT Directory: concerns treated", "Conditions a therapist treats with IPT.")
INSURANCE = Taxonomy(
    "insurance", "IPT Directory: insurance accepted", "Insurers and plans in whose network a therapist is."
)
LANGUAGE = Taxonomy("language", "IPT Directory: languages", "Languages of sessions, by ISO 639-1 code.")
AGE_GROUP = Taxonomy("age_group", "IPT Directory: age groups served", "The ages of the clients a therapist sees.")
TRAINING_LEVEL = Taxonomy(
    "training_level",
    "IPT Directory: IPT training levels",
    "A therapist's IPT credentials folded into one level: trained (a course), certified, or supervisor.",
)
LISTING = Taxonomy(
    "listing",
    "IPT Directory: listing facts",
    "Facts of a listing that carry a value: the therapist's NPI, each state licence, whether accepting new clients.",
)
TAXONOMIES = [FORMAT, FOCUS_AREA, CONCERN, INSURANCE, LANGUAGE, AGE_GROUP, TRAINING_LEVEL, LISTING]

NPI = Term(LISTING, "npi", "NPI", "The therapist's National Provider Identifier (NPPES); the value is the NPI.")
LICENSED_STATE = Term(
    LISTING,
    "licensed-state",
    "Licensed state",
    "A US state (USPS code, the value) where the therapist may see clients; the label says the basis "
    "(state licence or an interstate compact).",
)
ACCEPTING = Term(
    LISTING,
    "accepting-new-clients",
    "Accepting new clients",
    "Value true or false: open to new clients with availability confirmed within the directory's window.",
)
DEMO = Term(LISTING, "demo-listing", "Demo listing", "A fictional listing from the demo data.")
LISTING_TERMS = [NPI, LICENSED_STATE, ACCEPTING, DEMO]


def all_terms() -> list[Term]:
    """Every term, taxonomy by taxonomy; the reference tables are read once per process."""
    return [
        *(Term(FORMAT, slug, label, label) for slug, label in FORMATS.items()),
        *(term_of(FOCUS_AREA, row) for row in reference_rows(FocusArea, "slug").values()),
        *(term_of(CONCERN, row) for row in reference_rows(Concern, "slug").values()),
        *(term_of(INSURANCE, row) for row in reference_rows(Insurer, "slug").values()),
        *(term_of(LANGUAGE, row) for row in reference_rows(Language, "code").values()),
        *(Term(AGE_GROUP, slug, label, label) for slug, label in AGE_GROUPS.items()),
        *(Term(TRAINING_LEVEL, level.value, level.label, level.label) for level in Therapist.TrainingLevel),
        *LISTING_TERMS,
    ]


def term_of(taxonomy: Taxonomy, row: FocusArea | Concern | Insurer | Language) -> Term:
    code = row.code if isinstance(row, Language) else row.slug
    description = getattr(row, "description", "") or row.name
    return Term(taxonomy, code, row.name, description)


def terms_by_id() -> dict[uuid.UUID, Term]:
    return {term.id: term for term in all_terms()}


@lru_cache(maxsize=2048)
def term_id(taxonomy_key: str, code: str) -> uuid.UUID:
    return ids.named("term", taxonomy_key, code)


@lru_cache(maxsize=2048)
def term_id_text(taxonomy_key: str, code: str) -> str:
    return str(term_id(taxonomy_key, code))
