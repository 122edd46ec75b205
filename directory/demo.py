"""Fictional, clearly marked therapist listings for the demo and the benchmarks.

`generate_therapists` is deterministic for a seed: the same call gives the
same records, so the committed `fixtures/demo_directory.json` can be rebuilt
with `manage.py generate_demo`. Records are plain dicts; dates are relative
(`availability_confirmed_days_ago`) so that a demo loaded next year is as
fresh as one loaded today.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from directory.geo import zip_index
from directory.models import npi_check_digit


@dataclass(frozen=True)
class Metro:
    name: str
    state: str
    postal_codes: tuple[str, ...]
    neighbour_states: tuple[str, ...]
    local_insurers: tuple[str, ...]
    languages: tuple[str, ...]


METROS = [
    Metro("New York", "NY", ("11215", "11201", "11211", "11226", "10001", "10025", "10463", "11375", "11354", "10301"),
          ("NJ", "CT"), ("healthfirst", "fidelis-care", "emblemhealth", "medicaid"),
          ("es", "zh", "ru", "ht", "ko", "yi", "he")),
    Metro("Los Angeles", "CA", ("90012", "90026", "90034", "90019", "91101", "90802", "91401"),
          ("NV",), ("kaiser-permanente", "medicaid", "molina"), ("es", "ko", "zh", "tl", "fa", "vi")),
    Metro("Chicago", "IL", ("60601", "60614", "60647", "60615", "60201", "60302"),
          ("IN", "WI"), ("medicaid", "centene"), ("es", "pl", "ar", "zh")),
    Metro("Houston", "TX", ("77002", "77006", "77098", "77081", "77494"),
          ("LA",), ("centene", "medicaid", "ambetter"), ("es", "vi", "ar", "hi")),
    Metro("Phoenix", "AZ", ("85004", "85013", "85281", "85251"),
          ("NM",), ("medicaid", "ambetter"), ("es",)),
    Metro("Philadelphia", "PA", ("19103", "19107", "19146", "19144", "19004"),
          ("NJ", "DE"), ("independence-bc", "horizon-bcbsnj", "medicaid"), ("es", "zh", "vi", "ru")),
    Metro("Atlanta", "GA", ("30303", "30306", "30030", "30318"),
          ("SC", "AL"), ("ambetter", "medicaid"), ("es", "ko", "vi")),
    Metro("Seattle", "WA", ("98101", "98103", "98122", "98004"),
          ("OR",), ("kaiser-permanente", "molina", "medicaid"), ("zh", "vi", "ja", "ko", "es")),
    Metro("Boston", "MA", ("02115", "02139", "02446", "02130", "02144"),
          ("NH", "RI"), ("harvard-pilgrim", "tufts", "medicaid"), ("pt", "es", "ht", "zh")),
    Metro("Denver", "CO", ("80202", "80206", "80218", "80302"),
          ("WY",), ("kaiser-permanente", "medicaid"), ("es",)),
    Metro("Miami", "FL", ("33130", "33139", "33146", "33125"),
          ("GA",), ("ambetter", "molina", "medicaid"), ("es", "ht", "pt")),
    Metro("Minneapolis", "MN", ("55401", "55408", "55104", "55105"),
          ("WI",), ("medicaid",), ("es", "vi", "ru")),
]  # fmt: skip

NATIONAL_INSURERS = [
    "aetna", "anthem-bcbs", "bcbs", "cigna", "unitedhealthcare", "optum", "humana",
    "magellan", "carelon", "oscar", "medicare", "medicare-advantage", "tricare",
    "va-community-care", "beacon", "lyra", "spring-health", "compsych",
]  # fmt: skip

# PSYPACT's operational states (CA, NY and MA are not members).
PSYPACT_STATES = [
    "AL", "AZ", "AR", "CO", "CT", "DE", "DC", "GA", "ID", "IL", "IN", "KS", "KY", "ME", "MD",
    "MI", "MN", "MO", "NE", "NV", "NH", "NJ", "NC", "ND", "OH", "OK", "PA", "RI", "SC", "SD",
    "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
]  # fmt: skip

FIRST_NAMES = [
    "Ada", "Adrian", "Aisha", "Alejandro", "Amara", "Ana", "Andre", "Ari", "Beatriz", "Benjamin",
    "Camila", "Carmen", "Chen", "Chloe", "Daniel", "Deepa", "Diego", "Dmitri", "Elena", "Eli",
    "Emeka", "Esther", "Fatima", "Felix", "Grace", "Hana", "Hector", "Imani", "Isaac", "Jae",
    "Jamal", "Jasmine", "Joaquin", "Jordan", "Julia", "Kai", "Kenji", "Layla", "Leah", "Lucia",
    "Malik", "Maren", "Maya", "Miguel", "Min", "Nadia", "Naomi", "Nia", "Noah", "Omar",
    "Priya", "Rafael", "Rachel", "Rosa", "Ruth", "Samir", "Sara", "Sofia", "Tamar", "Thanh",
    "Theo", "Valentina", "Wei", "Yara", "Yusuf", "Zoe",
]  # fmt: skip
LAST_NAMES = [
    "Abara", "Alvarez", "Bennett", "Brooks", "Castillo", "Chen", "Cohen", "Diaz", "Dubois", "Ellis",
    "Fernandez", "Fischer", "Garcia", "Goldberg", "Gupta", "Haddad", "Hoang", "Ibrahim", "Jensen",
    "Kaplan", "Kim", "Kowalski", "Levi", "Lopez", "Martin", "Mendoza", "Moreau", "Nakamura", "Nguyen",
    "Novak", "Okafor", "Ortiz", "Park", "Patel", "Pereira", "Quinn", "Ramirez", "Reyes", "Rossi",
    "Sato", "Schwartz", "Shah", "Silva", "Sokolova", "Tanaka", "Torres", "Tran", "Vasquez", "Walker",
    "Washington", "Weiss", "Williams", "Wong", "Yilmaz", "Zhang",
]  # fmt: skip
CREDENTIALS = [
    ("LCSW", "social-work-compact"),
    ("LMFT", None),
    ("LPC", "counseling-compact"),
    ("LMHC", "counseling-compact"),
    ("PhD, Licensed Psychologist", "psypact"),
    ("PsyD, Licensed Psychologist", "psypact"),
    ("MD, Psychiatrist", None),
    ("PMHNP-BC", None),
]
PRONOUNS = ["she/her", "he/him", "they/them", "she/they", "", ""]
FOCUS_AREAS = [
    "social-functioning",
    "life-transitions",
    "grief-loss",
    "role-disputes",
    "interpersonal-sensitivity",
]
CONCERNS = [
    "social-anxiety", "generalized-anxiety", "panic", "depression", "perinatal", "bipolar",
    "eating-disorders", "ptsd", "adolescent-depression", "grief", "relationship-conflict",
    "loneliness", "work-stress", "chronic-illness", "substance-use",
]  # fmt: skip
STREETS = [
    "Main St",
    "Oak Ave",
    "Park Pl",
    "Elm St",
    "Maple Ave",
    "Cedar Rd",
    "Washington Blvd",
    "Lake St",
    "Hill Rd",
    "River Rd",
]
FOCUS_PHRASES = {
    "social-functioning": "social anxiety and the fear of being judged",
    "life-transitions": "life changes such as a new job, a move, parenthood or retirement",
    "grief-loss": "grief after the death of someone close",
    "role-disputes": "conflicts with partners, family and colleagues",
    "interpersonal-sensitivity": "loneliness and difficulty building close relationships",
}


def make_npi(number: int) -> str:
    """A valid (Luhn-checked) NPI for a fictional provider."""
    prefix = f"19{number:07d}"
    return prefix + str(npi_check_digit(prefix))


def _pick(rng: random.Random, population: list[str], low: int, high: int) -> list[str]:
    return sorted(rng.sample(population, rng.randint(low, min(high, len(population)))))


def _formats(rng: random.Random) -> list[str]:
    roll = rng.random()
    if roll < 0.12:
        return ["online"]
    formats = ["individual"]
    if rng.random() < 0.65:
        formats.append("online")
    if rng.random() < 0.25:
        formats.append("family")
    if rng.random() < 0.2:
        formats.append("group")
    return formats


def _licences(rng: random.Random, metro: Metro, credential: tuple[str, str | None], number: int) -> list[dict]:
    states = [metro.state]
    for neighbour in metro.neighbour_states:
        if rng.random() < 0.35:
            states.append(neighbour)
    licences = [{"state": state, "basis": "license", "license_number": f"{state}-{number:06d}"} for state in states]
    compact = credential[1]
    if compact == "psypact" and rng.random() < 0.5:
        extra = [state for state in rng.sample(PSYPACT_STATES, 6) if state not in states]
        licences += [{"state": state, "basis": "psypact", "license_number": ""} for state in extra]
    return licences


def _bio(first_name: str, focus_areas: list[str], years: int, metro: Metro) -> str:
    phrases = [FOCUS_PHRASES[area] for area in focus_areas[:2]]
    return (
        f"Demo profile: {first_name} is a fictional therapist created to show how this directory works. "
        f"In this example, {first_name} has {years} years of practice in the {metro.name} area and uses "
        f"interpersonal therapy to help adults with anxiety and depression, especially around "
        f"{' and '.join(phrases)}."
    )


def _approach(cadence: str) -> str:
    rhythm = "every two weeks" if cadence == "biweekly" else "weekly"
    return (
        f"We meet {rhythm} for about 12 to 16 sessions. The first sessions are an assessment: "
        "your symptoms, the people in your life and what has changed. Together we choose one or two "
        "interpersonal focus areas, practise new ways of communicating, and strengthen your support. "
        "The last sessions review progress and plan how to keep it."
    )


def generate_therapist(rng: random.Random, number: int, metro: Metro) -> dict:
    """One fictional therapist in a metro, as plain data."""
    first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    credential = rng.choice(CREDENTIALS)
    formats = _formats(rng)
    focus_areas = _pick(rng, FOCUS_AREAS, 1, 3)
    cadence = rng.choice(["weekly", "weekly", "biweekly", "either"])
    index = zip_index()
    offices = []
    if formats != ["online"]:
        for office_number in range(1 if rng.random() < 0.85 else 2):
            postal_code = rng.choice(metro.postal_codes)
            offices.append(
                {
                    "label": "Main office" if office_number == 0 else "Second office",
                    "address": f"{rng.randint(10, 980)} {rng.choice(STREETS)}, Suite {rng.randint(1, 9)}00",
                    "city": index.by_zip[postal_code].city,
                    "state": index.by_zip[postal_code].state,
                    "postal_code": postal_code,
                    "wheelchair_accessible": rng.random() < 0.6,
                }
            )
    insurers = _pick(rng, NATIONAL_INSURERS, 0, 6) + _pick(rng, list(metro.local_insurers), 0, 2)
    self_pay_only = rng.random() < 0.15
    fee_min = rng.choice([60, 80, 100, 120, 140, 160, 180])
    accepting = rng.random() < 0.8
    stale = rng.random() < 0.1
    languages = ["en"] + (_pick(rng, list(metro.languages), 1, 2) if rng.random() < 0.35 else [])
    return {
        "npi": make_npi(number),
        "first_name": first_name,
        "last_name": last_name,
        "credentials": credential[0],
        "pronouns": rng.choice(PRONOUNS),
        "bio": _bio(first_name, focus_areas, rng.randint(3, 30), metro),
        "approach": _approach(cadence),
        "email": f"{first_name}.{last_name}.{number}@example.org".lower(),
        "phone": f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        "website": "",
        "training_level": rng.choices(["trained", "certified", "supervisor"], weights=[6, 3, 1])[0],
        "formats": formats,
        "age_groups": sorted({"adults", *_pick(rng, ["children", "adolescents", "older-adults"], 0, 2)}),
        "insurers": []
        if self_pay_only
        else [{"slug": slug, "accepting_new_clients": rng.random() < 0.9} for slug in sorted(set(insurers))],
        "focus_areas": focus_areas,
        "concerns": _pick(rng, CONCERNS, 2, 5),
        "languages": sorted(set(languages)),
        "fee_min": fee_min,
        "fee_max": fee_min + rng.choice([0, 20, 40, 60]),
        "sliding_scale": rng.random() < 0.35,
        "session_cadence": cadence,
        "accepts_new_clients": accepting,
        "capacity": rng.randint(1, 6) if accepting else 0,
        "availability_confirmed_days_ago": rng.randint(65, 200) if stale else rng.randint(0, 45),
        "status": "published" if rng.random() < 0.96 else rng.choice(["pending", "draft"]),
        "offices": offices,
        "licensed_states": _licences(rng, metro, credential, number),
        "is_demo": True,
    }


def generate_therapists(count: int, *, seed: int = 2026, metros: list[Metro] | None = None) -> list[dict]:
    """`count` fictional therapists spread evenly over the metros."""
    rng = random.Random(seed)
    metros = metros or METROS
    return [generate_therapist(rng, number, metros[number % len(metros)]) for number in range(1, count + 1)]


DEMO_ACCOUNT_PROFILES = {
    # username: the NPI number of the generated profile it is linked to
    "therapist1": 12,
    "therapist2": 24,
}


def demo_directory(count: int = 336) -> list[dict]:
    """The demo directory: `count` records, with the demo therapists' profiles forced usable."""
    records = generate_therapists(count)
    for number in DEMO_ACCOUNT_PROFILES.values():
        record = records[number - 1]
        record.update(
            status="published",
            accepts_new_clients=True,
            capacity=4,
            availability_confirmed_days_ago=3,
        )
        if "online" not in record["formats"]:
            record["formats"].append("online")
    return records
