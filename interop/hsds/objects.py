"""Published therapists as HSDS 3.1 objects: a therapist's IPT service, their practice, their offices.

Only what the public profile shows (`directory.serializers.TherapistSerializer`)
leaves here, plus the NPI that the public profile page prints. Never a status,
a capacity, a licence number, a moderation note, a reply figure or an account.
The functions read what the selectors loaded (`selectors.related`), so they run no query.
docs/interop-hsds.md maps each field.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from directory import geo
from directory.models import AGE_GROUPS, FORMATS, LicensedState, Office, Therapist
from interop.hsds import ids
from interop.hsds import vocabulary as terms
from interop.hsds.selectors import Related


@dataclass(frozen=True)
class Context:
    """What a response needs besides the rows: the clock, for "accepting", and how to make a profile's URL."""

    now: datetime.datetime
    profile_url: Callable[[str], str]


def compact(fields: dict) -> dict:
    """HSDS leaves out what is unknown: no nulls, no empty strings (an empty email fails the schema)."""
    return {key: value for key, value in fields.items() if value is not None and value != ""}


def organization_id(therapist: Therapist) -> str:
    return str(ids.linked(therapist.public_id, ids.ORGANIZATION))


def service_name(therapist: Therapist) -> str:
    return f"Interpersonal therapy (IPT) with {therapist.full_name}, {therapist.credentials}"


def fees_description(therapist: Therapist) -> str:
    low, high = therapist.fee_min, therapist.fee_max
    if low is not None and high is not None:
        text = f"${low} per session" if low == high else f"${low} to ${high} per session"
    elif low is not None or high is not None:
        text = f"From ${low} per session" if low is not None else f"Up to ${high} per session"
    else:
        text = ""
    if therapist.sliding_scale:
        text = f"{text}; sliding scale available" if text else "Sliding scale available"
    return f"Self-pay: {text}." if text else ""


def wait_time(therapist: Therapist, now: datetime.datetime) -> str:
    if not therapist.is_accepting(now):
        return "Not accepting new clients."
    return f"Accepting new clients (availability confirmed {therapist.availability_confirmed_at:%Y-%m-%d})."


def basis_label(basis: str) -> str:
    return LicensedState.Basis(basis).label


def licenses(related: Related) -> str:
    states = [
        state if basis == LicensedState.Basis.LICENSE else f"{state} ({basis_label(basis)})"
        for state, basis in related.licences
    ]
    return f"May see clients in: {', '.join(states)}." if states else ""


def eligibility(therapist: Therapist) -> str:
    groups = [label.lower() for label in therapist.age_group_labels]
    return f"Serves {', '.join(groups)}." if groups else ""


def child_id(owner: uuid.UUID, kind: str) -> str:
    """The id of an object shown only inside its owner row (`ids.linked`)."""
    return ids.linked_text(owner, kind)


def service(therapist: Therapist, related: Related, context: Context, *, full: bool) -> dict:
    """A therapist's IPT service: one-to-one fields, and with `full` every nested list HSDS defines for it."""
    confirmed = therapist.availability_confirmed_at
    fields = compact(
        {
            "id": str(therapist.public_id),
            "organization_id": organization_id(therapist),
            "name": service_name(therapist),
            "alternate_name": therapist.full_name,
            "description": therapist.bio,
            "url": context.profile_url(therapist.slug),
            "email": therapist.email,
            "status": "active",
            "fees_description": fees_description(therapist),
            "wait_time": wait_time(therapist, context.now),
            "accreditations": Therapist.TrainingLevel(therapist.training_level).label,
            "licenses": licenses(related),
            "eligibility_description": eligibility(therapist),
            "assured_date": f"{confirmed:%Y-%m-%d}" if confirmed else None,
            "alert": "Demo listing: a fictional therapist." if therapist.is_demo else None,
            "last_modified": therapist.updated_at.isoformat(),
        }
    )
    if not full:
        return fields
    return {
        **fields,
        "phones": phones(therapist, owner="service_id", owner_id=therapist.public_id),
        "languages": [
            {
                "id": child_id(therapist.public_id, f"language:{language.code}"),
                "service_id": fields["id"],
                "name": language.name,
                "code": language.code,
            }
            for language in related.languages
        ],
        "cost_options": cost_options(therapist),
        "service_areas": service_areas(therapist, related),
        "service_at_locations": [service_at_location(office, therapist, full=True) for office in related.offices],
        "organization": organization(therapist, full=False),
        "attributes": attributes(therapist, related, context),
    }


def phones(therapist: Therapist, *, owner: str, owner_id: uuid.UUID) -> list[dict]:
    if not therapist.phone:
        return []
    phone_id = child_id(owner_id, f"{owner}:phone")
    return [{"id": phone_id, owner: str(owner_id), "number": therapist.phone, "type": "voice"}]


def cost_options(therapist: Therapist) -> list[dict]:
    service_id = str(therapist.public_id)
    options = []
    amount = therapist.fee_min if therapist.fee_min is not None else therapist.fee_max
    if amount is not None:
        options.append(
            {"id": child_id(therapist.public_id, "cost:self-pay"), "service_id": service_id,
             "option": "Self-pay, per session", "currency": "USD", "amount": amount,
             "amount_description": fees_description(therapist).removeprefix("Self-pay: ")}
        )  # fmt: skip
    if therapist.sliding_scale:
        options.append(
            {"id": child_id(therapist.public_id, "cost:sliding-scale"), "service_id": service_id,
             "option": "Sliding scale", "currency": "USD",
             "amount_description": "Reduced fees for clients with lower incomes."}
        )  # fmt: skip
    return options


def service_areas(therapist: Therapist, related: Related) -> list[dict]:
    """Online sessions reach clients in the states where the therapist may practise; offices are locations."""
    if not therapist.offers_online:
        return []
    service_id = str(therapist.public_id)
    return [
        {"id": child_id(therapist.public_id, f"service_area:{state}"), "service_id": service_id,
         "name": geo.US_STATES.get(state, state), "extent_type": "text", "extent": state,
         "description": f"Online (telehealth) sessions for clients in {state}."}
        for state, _basis in related.licences
    ]  # fmt: skip


def attributes(therapist: Therapist, related: Related, context: Context) -> list[dict]:
    """The directory's vocabularies and listing facts on the service, each pointing at a term of its taxonomies."""
    tagged: list[tuple[terms.Term, str | None, str | None]] = [
        *((terms.Term(terms.FORMAT, slug, FORMATS[slug], FORMATS[slug]), None, None) for slug in therapist.formats),
        *((terms.term_of(terms.FOCUS_AREA, row), None, None) for row in related.focus_areas),
        *((terms.term_of(terms.CONCERN, row), None, None) for row in related.concerns),
        *((terms.term_of(terms.INSURANCE, row), None, None) for row in related.insurers),
        *((terms.term_of(terms.LANGUAGE, row), None, None) for row in related.languages),
        *((terms.Term(terms.AGE_GROUP, slug, AGE_GROUPS[slug], AGE_GROUPS[slug]), None, None)
          for slug in therapist.age_groups),
        (training_term(therapist.training_level), None, None),
        (terms.NPI, therapist.npi, None),
        *((terms.LICENSED_STATE, state, basis_label(basis)) for state, basis in related.licences),
        (terms.ACCEPTING, "true" if therapist.is_accepting(context.now) else "false", None),
        *([(terms.DEMO, "true", None)] if therapist.is_demo else []),
    ]  # fmt: skip
    return [attribute(therapist.public_id, term, value, label) for term, value, label in tagged]


def training_term(level: str) -> terms.Term:
    label = Therapist.TrainingLevel(level).label
    return terms.Term(terms.TRAINING_LEVEL, level, label, label)


def attribute(service_id: uuid.UUID, term: terms.Term, value: str | None, label: str | None) -> dict:
    """A term on the service; its id needs the value only where a service has the term more than once (states)."""
    term_id = term.id_text
    kind = f"attribute:{term_id}:{value}" if term == terms.LICENSED_STATE else f"attribute:{term_id}"
    return compact(
        {
            "id": child_id(service_id, kind),
            "link_id": str(service_id),
            "link_type": term.taxonomy.key,
            "link_entity": "service",
            "taxonomy_term_id": term_id,
            "value": value,
            "label": label,
        }
    )


def organization(therapist: Therapist, *, full: bool) -> dict:
    """The therapist's own practice: the directory has no practice names, so "<name>'s practice".

    With `full`, reads the therapist's prefetched offices (`selectors.with_organization_relations`).
    """
    fields = compact(
        {
            "id": organization_id(therapist),
            "name": f"{therapist.full_name}'s practice",
            "description": f"The practice of {therapist.full_name}, {therapist.credentials}, "
            "who offers interpersonal therapy (IPT).",
            "email": therapist.email,
            "website": therapist.website,
        }
    )
    if not full:
        return fields
    organization_uuid = ids.linked(therapist.public_id, ids.ORGANIZATION)
    return {
        **fields,
        "phones": phones(therapist, owner="organization_id", owner_id=organization_uuid),
        "locations": [location(office, therapist) for office in therapist.offices.all()],
    }


def location(office: Office, therapist: Therapist) -> dict:
    location_id = str(office.public_id)
    fields = compact(
        {
            "id": location_id,
            "location_type": "physical",
            "organization_id": organization_id(therapist),
            "name": office.label or f"{therapist.full_name}'s office",
            "latitude": round(office.latitude, 5) if office.latitude is not None else None,
            "longitude": round(office.longitude, 5) if office.longitude is not None else None,
        }
    )
    fields["addresses"] = [
        {"id": child_id(office.public_id, "address"), "location_id": location_id, "address_1": office.address,
         "city": office.city, "state_province": office.state, "postal_code": office.postal_code, "country": "US",
         "address_type": "physical"}
    ]  # fmt: skip
    fields["accessibility"] = (
        [{"id": child_id(office.public_id, "accessibility"), "location_id": location_id,
          "description": "Wheelchair accessible"}]
        if office.wheelchair_accessible
        else []
    )  # fmt: skip
    return fields


def service_at_location(office: Office, therapist: Therapist, *, full: bool) -> dict:
    fields = {
        "id": str(ids.linked(office.public_id, ids.SERVICE_AT_LOCATION)),
        "service_id": str(therapist.public_id),
        "location_id": str(office.public_id),
        "description": f"{service_name(therapist)}, at {office.city}, {office.state}",
    }
    if full:
        fields["location"] = location(office, therapist)
    return fields
