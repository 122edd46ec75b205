"""The directory's public data as FHIR R4 Plan-Net resources: plain dicts, field by field (docs/interop-fhir.md).

Plain dicts rather than `fhir.resources` models: building and serialising a
pydantic model per resource costs several times the rest of a page of 100, and
the tests validate every resource type against the `fhir.resources` models instead.
Each builder reads only what the public profile shows, from a `selectors.Profile`
(a therapist with its offices, networks and languages): no query here.
"""

from __future__ import annotations

import datetime
import functools

from directory.models import FORMATS, Insurer, Office, Therapist
from interop.plannet import vocabulary as v
from interop.plannet.selectors import Profile

SERVICE_NAMES = {
    "individual": "Interpersonal therapy (IPT), individual sessions",
    "family": "Interpersonal therapy (IPT), family sessions",
    "group": "Interpersonal therapy (IPT), group sessions",
    "online": "Interpersonal therapy (IPT), online sessions (telehealth)",
}


def instant(moment: datetime.datetime) -> str:
    """A FHIR instant: seconds and a time zone, always."""
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def meta(kind: str, updated_at: datetime.datetime | None = None) -> dict:
    """`meta`: the Plan-Net profile and, where the directory records it, when the data last changed."""
    data: dict = {"profile": [v.PROFILES[kind]]}
    if updated_at is not None:
        data["lastUpdated"] = instant(updated_at)
    return data


def reference(kind: str, identifier: str, display: str | None = None) -> dict:
    data = {"reference": f"{kind}/{identifier}"}
    if display:
        data["display"] = display
    return data


def new_patients(accepting: bool, network: Insurer | None = None) -> dict:
    """Plan-Net's `newpatients` extension: accepting (`newpt`) or not (`nopt`), in general or from one network."""
    return _new_patients(accepting, *((network.slug, network.name) if network else (None, None)))


def network_extension(insurer: Insurer) -> dict:
    """Plan-Net's `network-reference` extension: the therapist is in this insurer's network."""
    return _network_extension(insurer.slug, insurer.name)


def network_reference(insurer: Insurer) -> dict:
    return _network_reference(insurer.slug, insurer.name)


# The extensions a page repeats on most of its roles are built once per process and shared: a page of
# 100 roles names the same few dozen networks a thousand times, and allocating each anew cost more than
# encoding them. They are read only (the views only serialise them).


@functools.lru_cache(maxsize=256)
def _new_patients(accepting: bool, slug: str | None, name: str | None) -> dict:
    code, display = v.ACCEPTING[accepting]
    parts: list[dict] = [
        {
            "url": "acceptingPatients",
            "valueCodeableConcept": {
                "coding": [{"system": v.ACCEPTING_PATIENTS_SYSTEM, "code": code, "display": display}]
            },
        }
    ]
    if slug is not None and name is not None:
        parts.append({"url": "fromNetwork", "valueReference": _network_reference(slug, name)})
    return {"url": v.NEW_PATIENTS, "extension": parts}


@functools.lru_cache(maxsize=256)
def _network_extension(slug: str, name: str) -> dict:
    return {"url": v.NETWORK_REFERENCE, "valueReference": _network_reference(slug, name)}


@functools.lru_cache(maxsize=256)
def _network_reference(slug: str, name: str) -> dict:
    return reference("Organization", v.derived_id("network", slug), f"{name} network")


def practitioner(profile: Profile) -> dict:
    therapist = profile.therapist
    level = Therapist.TrainingLevel(therapist.training_level)
    return {
        "resourceType": "Practitioner",
        "id": str(therapist.public_id),
        "meta": meta("Practitioner", therapist.updated_at),
        "identifier": [{"use": "official", "system": v.NPI_SYSTEM, "value": therapist.npi}],
        "active": True,
        "name": [
            {
                "use": "official",
                "text": therapist.full_name,
                "family": therapist.last_name,
                "given": [therapist.first_name],
            }
        ],
        "qualification": [
            {"code": {"text": therapist.credentials}},
            {
                "code": {
                    "coding": [{"system": v.TRAINING_LEVEL_SYSTEM, "code": level.value, "display": level.label}],
                    "text": level.label,
                }
            },
        ],
        "communication": [
            {"coding": [{"system": v.LANGUAGE_SYSTEM, "code": language.code, "display": language.name}]}
            for language in profile.languages
        ],
    }


def practitioner_role(profile: Profile, *, now: datetime.datetime) -> dict:
    """The therapist's one role: where (offices), how (formats), in which networks, and whether accepting."""
    therapist = profile.therapist
    accepting = therapist.is_accepting(now)
    extensions = [new_patients(accepting)]
    # A network's own answer only where it differs: a panel closed to new clients while the therapist accepts.
    extensions += [
        new_patients(False, insurer) for insurer, panel_open in profile.networks if accepting and not panel_open
    ]
    extensions += [network_extension(insurer) for insurer, _ in profile.networks]
    role: dict = {
        "resourceType": "PractitionerRole",
        "id": str(therapist.public_id),
        "meta": meta("PractitionerRole", therapist.updated_at),
        "extension": extensions,
        "active": True,
        "practitioner": reference("Practitioner", str(therapist.public_id), therapist.full_name),
        "code": [{"text": "Interpersonal therapy (IPT) therapist"}],
        "specialty": [{"coding": [specialty.coding()]} for specialty in v.specialties_of(therapist.credentials)],
        "location": [location_reference(office) for office in profile.offices],
        "healthcareService": [
            reference("HealthcareService", v.derived_id("service", slug), SERVICE_NAMES[slug])
            for slug in therapist.formats
        ],
        "telecom": telecom(therapist),
    }
    return {key: value for key, value in role.items() if value != []}


def telecom(therapist: Therapist) -> list[dict]:
    points = [("phone", therapist.phone), ("email", therapist.email), ("url", therapist.website)]
    return [{"system": system, "value": value, "use": "work"} for system, value in points if value]


def location_name(office: Office) -> str:
    return office.label or f"{office.address}, {office.city}"


def location_reference(office: Office) -> dict:
    return reference("Location", str(office.public_id), location_name(office))


def location(office: Office, therapist: Therapist) -> dict:
    """An office; its `lastUpdated` is its therapist's profile's (offices are edited with the profile)."""
    data: dict = {
        "resourceType": "Location",
        "id": str(office.public_id),
        "meta": meta("Location", therapist.updated_at),
        "status": "active",
        "name": location_name(office),
        "address": {
            "use": "work",
            "type": "physical",
            "text": str(office),
            "line": [office.address],
            "city": office.city,
            "state": office.state,
            "postalCode": office.postal_code,
            "country": "US",
        },
    }
    if office.wheelchair_accessible:
        data["extension"] = [
            {
                "url": v.ACCESSIBILITY,
                "valueCodeableConcept": {
                    "coding": [
                        {"system": v.ACCESSIBILITY_SYSTEM, "code": "handiaccess", "display": "handicap accessible"}
                    ]
                },
            }
        ]
    if office.latitude is not None and office.longitude is not None:
        data["position"] = {"longitude": office.longitude, "latitude": office.latitude}
    return data


def payer(insurer: Insurer) -> dict:
    """The insurer as an organization (Plan-Net type `payer`)."""
    return {
        "resourceType": "Organization",
        "id": v.derived_id("payer", insurer.slug),
        "meta": meta("Organization"),
        "active": True,
        "type": [{"coding": [{"system": v.ORGANIZATION_TYPE_SYSTEM, "code": "payer", "display": "Payer"}]}],
        "name": insurer.name,
    }


def network(insurer: Insurer) -> dict:
    """The insurer's provider network (Plan-Net Network: an organization of type `ntwk`, part of the payer)."""
    return {
        "resourceType": "Organization",
        "id": v.derived_id("network", insurer.slug),
        "meta": meta("Network"),
        "active": True,
        "type": [{"coding": [{"system": v.ORGANIZATION_TYPE_SYSTEM, "code": "ntwk", "display": "Network"}]}],
        "name": f"{insurer.name} network",
        "partOf": reference("Organization", v.derived_id("payer", insurer.slug), insurer.name),
    }


def insurance_plan(insurer: Insurer) -> dict:
    """One plan per insurer: the directory knows insurers, not their products, so `type` is the insurer's kind."""
    payer_reference = reference("Organization", v.derived_id("payer", insurer.slug), insurer.name)
    return {
        "resourceType": "InsurancePlan",
        "id": v.derived_id("plan", insurer.slug),
        "meta": meta("InsurancePlan"),
        "status": "active",
        "type": [{"text": Insurer.Kind(insurer.kind).label}],
        "name": insurer.name,
        "ownedBy": payer_reference,
        "administeredBy": payer_reference,
        "network": [network_reference(insurer)],
    }


def healthcare_service(slug: str) -> dict:
    """One service per session format: IPT individual, family, group or online."""
    return {
        "resourceType": "HealthcareService",
        "id": v.derived_id("service", slug),
        "meta": meta("HealthcareService"),
        "active": True,
        "category": [
            {"coding": [{"system": v.SERVICE_CATEGORY_SYSTEM, "code": "behav", "display": "Behavioral Health"}]}
        ],
        "type": [{"text": FORMATS[slug]}],
        "name": SERVICE_NAMES[slug],
    }
