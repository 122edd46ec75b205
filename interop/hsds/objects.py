"""Published therapists as HSDS 3.1 objects: a therapist's IPT service, their practice, their offices.

Only what the public profile shows (`directory.serializers.TherapistSerializer`)
leaves here, plus the NPI that the public profile page prints. Never a status,
a capacity, a licence number, a moderation note, a reply figure or an account.
The functions read relations the selectors prefetched, so they run no query.
docs/interop-hsds.md maps each field.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from directory import geo
from directory.models import AGE_GROUPS, FORMATS, Office, Therapist
from interop.hsds import ids
from interop.hsds import vocabulary as terms


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


def licenses(therapist: Therapist) -> str:
    states = [
        licence.state if licence.basis == licence.Basis.LICENSE else f"{licence.state} ({licence.get_basis_display()})"
        for licence in therapist.licensed_states.all()
    ]
    return f"May see clients in: {', '.join(states)}." if states else ""


def eligibility(therapist: Therapist) -> str:
    groups = [label.lower() for label in therapist.age_group_labels]
    return f"Serves {', '.join(groups)}." if groups else ""


def service(therapist: Therapist, context: Context, *, full: bool) -> dict:
    """A therapist's IPT service: one-to-one fields, and with `full` every nested list HSDS defines for it."""
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
            "accreditations": therapist.get_training_level_display(),
            "licenses": licenses(therapist),
            "eligibility_description": eligibility(therapist),
            "assured_date": f"{therapist.availability_confirmed_at:%Y-%m-%d}"
            if therapist.availability_confirmed_at
            else None,
            "alert": "Demo listing: a fictional therapist." if therapist.is_demo else None,
            "last_modified": therapist.updated_at.isoformat(),
        }
    )
    if not full:
        return fields
    return {
        **fields,
        "phones": phones(therapist, owner="service_id", owner_id=fields["id"]),
        "languages": [
            {
                "id": str(ids.named(fields["id"], "language", language.code)),
                "service_id": fields["id"],
                "name": language.name,
                "code": language.code,
            }
            for language in therapist.languages.all()
        ],
        "cost_options": cost_options(therapist),
        "service_areas": service_areas(therapist),
        "service_at_locations": [
            service_at_location(office, therapist, full=True) for office in therapist.offices.all()
        ],
        "organization": organization(therapist, full=False),
        "attributes": attributes(therapist, context),
    }


def phones(therapist: Therapist, *, owner: str, owner_id: str) -> list[dict]:
    if not therapist.phone:
        return []
    return [{"id": str(ids.named(owner_id, "phone")), owner: owner_id, "number": therapist.phone, "type": "voice"}]


def cost_options(therapist: Therapist) -> list[dict]:
    service_id = str(therapist.public_id)
    options = []
    amount = therapist.fee_min if therapist.fee_min is not None else therapist.fee_max
    if amount is not None:
        options.append(
            {"id": str(ids.named(service_id, "cost", "self-pay")), "service_id": service_id,
             "option": "Self-pay, per session", "currency": "USD", "amount": amount,
             "amount_description": fees_description(therapist).removeprefix("Self-pay: ")}
        )  # fmt: skip
    if therapist.sliding_scale:
        options.append(
            {"id": str(ids.named(service_id, "cost", "sliding-scale")), "service_id": service_id,
             "option": "Sliding scale", "currency": "USD",
             "amount_description": "Reduced fees for clients with lower incomes."}
        )  # fmt: skip
    return options


def service_areas(therapist: Therapist) -> list[dict]:
    """Online sessions reach clients in the states where the therapist may practise; offices are locations."""
    if not therapist.offers_online:
        return []
    service_id = str(therapist.public_id)
    return [
        {"id": str(ids.named(service_id, "service_area", licence.state)), "service_id": service_id,
         "name": geo.US_STATES.get(licence.state, licence.state), "extent_type": "text", "extent": licence.state,
         "description": f"Online (telehealth) sessions for clients in {licence.state}."}
        for licence in therapist.licensed_states.all()
    ]  # fmt: skip


def attributes(therapist: Therapist, context: Context) -> list[dict]:
    """The directory's vocabularies and listing facts on the service, each pointing at a term of its taxonomies."""
    tagged: list[tuple[terms.Term, str | None, str | None]] = [
        *((terms.Term(terms.FORMAT, slug, FORMATS[slug], FORMATS[slug]), None, None) for slug in therapist.formats),
        *((terms.term_of(terms.FOCUS_AREA, row), None, None) for row in therapist.focus_areas.all()),
        *((terms.term_of(terms.CONCERN, row), None, None) for row in therapist.concerns.all()),
        *((terms.term_of(terms.INSURANCE, row), None, None) for row in therapist.insurer_list),
        *((terms.term_of(terms.LANGUAGE, row), None, None) for row in therapist.languages.all()),
        *((terms.Term(terms.AGE_GROUP, slug, AGE_GROUPS[slug], AGE_GROUPS[slug]), None, None)
          for slug in therapist.age_groups),
        (training_term(therapist.training_level), None, None),
        (terms.NPI, therapist.npi, None),
        *((terms.LICENSED_STATE, licence.state, licence.get_basis_display())
          for licence in therapist.licensed_states.all()),
        (terms.ACCEPTING, "true" if therapist.is_accepting(context.now) else "false", None),
        *([(terms.DEMO, "true", None)] if therapist.is_demo else []),
    ]  # fmt: skip
    service_id = str(therapist.public_id)
    return [attribute(service_id, term, value, label) for term, value, label in tagged]


def training_term(level: str) -> terms.Term:
    label = Therapist.TrainingLevel(level).label
    return terms.Term(terms.TRAINING_LEVEL, level, label, label)


def attribute(service_id: str, term: terms.Term, value: str | None, label: str | None) -> dict:
    term_id = str(term.id)
    return compact(
        {
            "id": str(ids.named(service_id, "attribute", term_id, value or "")),
            "link_id": service_id,
            "link_type": term.taxonomy.key,
            "link_entity": "service",
            "taxonomy_term_id": term_id,
            "taxonomy_term": term.as_hsds(),
            "value": value,
            "label": label,
        }
    )


def organization(therapist: Therapist, *, full: bool) -> dict:
    """The therapist's own practice: the directory has no practice names, so "<name>'s practice"."""
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
    return {
        **fields,
        "phones": phones(therapist, owner="organization_id", owner_id=fields["id"]),
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
        {"id": str(ids.named(location_id, "address")), "location_id": location_id, "address_1": office.address,
         "city": office.city, "state_province": office.state, "postal_code": office.postal_code, "country": "US",
         "address_type": "physical"}
    ]  # fmt: skip
    fields["accessibility"] = (
        [{"id": str(ids.named(location_id, "accessibility")), "location_id": location_id,
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
