"""The NUCC taxonomy codes of behavioural health: the one list of who counts as a therapist in the NPI registry.

Codes and names from the NUCC Health Care Provider Taxonomy code set, grouped by family: counselors
(101Y), psychoanalysts (102L), psychologists (103T), social workers (1041), marriage and family
therapists (106H), psychiatrists (2084P), psychiatric clinical nurse specialists (364SP) and
psychiatric nurse practitioners (363LP0808X).
"""

from __future__ import annotations

BEHAVIOURAL_HEALTH_TAXONOMIES: dict[str, str] = {
    "101Y00000X": "Counselor",
    "101YA0400X": "Counselor, Addiction (Substance Use Disorder)",
    "101YM0800X": "Counselor, Mental Health",
    "101YP1600X": "Counselor, Pastoral",
    "101YP2500X": "Counselor, Professional",
    "101YS0200X": "Counselor, School",
    "102L00000X": "Psychoanalyst",
    "103T00000X": "Psychologist",
    "103TA0400X": "Psychologist, Addiction (Substance Use Disorder)",
    "103TA0700X": "Psychologist, Adult Development & Aging",
    "103TB0200X": "Psychologist, Cognitive & Behavioral",
    "103TC0700X": "Psychologist, Clinical",
    "103TC1900X": "Psychologist, Counseling",
    "103TC2200X": "Psychologist, Clinical Child & Adolescent",
    "103TF0000X": "Psychologist, Family",
    "103TF0200X": "Psychologist, Forensic",
    "103TH0004X": "Psychologist, Health",
    "103TH0100X": "Psychologist, Health Service",
    "103TM1800X": "Psychologist, Intellectual & Developmental Disabilities",
    "103TP0016X": "Psychologist, Prescribing (Medical)",
    "103TP0814X": "Psychologist, Psychoanalysis",
    "103TP2700X": "Psychologist, Psychotherapy",
    "103TP2701X": "Psychologist, Group Psychotherapy",
    "103TR0400X": "Psychologist, Rehabilitation",
    "103TS0200X": "Psychologist, School",
    "103TW0100X": "Psychologist, Women",
    "104100000X": "Social Worker",
    "1041C0700X": "Social Worker, Clinical",
    "1041S0200X": "Social Worker, School",
    "106H00000X": "Marriage & Family Therapist",
    "2084P0800X": "Psychiatry & Neurology, Psychiatry",
    "2084P0802X": "Psychiatry & Neurology, Addiction Psychiatry",
    "2084P0804X": "Psychiatry & Neurology, Child & Adolescent Psychiatry",
    "2084P0805X": "Psychiatry & Neurology, Geriatric Psychiatry",
    "2084F0202X": "Psychiatry & Neurology, Forensic Psychiatry",
    "2084P0015X": "Psychiatry & Neurology, Psychosomatic Medicine",
    "364SP0808X": "Clinical Nurse Specialist, Psychiatric/Mental Health",
    "364SP0809X": "Clinical Nurse Specialist, Psychiatric/Mental Health, Adult",
    "364SP0810X": "Clinical Nurse Specialist, Psychiatric/Mental Health, Child & Family",
    "364SP0811X": "Clinical Nurse Specialist, Psychiatric/Mental Health, Chronically Ill",
    "364SP0812X": "Clinical Nurse Specialist, Psychiatric/Mental Health, Community",
    "364SP0813X": "Clinical Nurse Specialist, Psychiatric/Mental Health, Geropsychiatric",
    "363LP0808X": "Nurse Practitioner, Psychiatric/Mental Health",
}


def is_behavioural_health(taxonomy_code: str) -> bool:
    return taxonomy_code in BEHAVIOURAL_HEALTH_TAXONOMIES


def taxonomy_name(taxonomy_code: str) -> str:
    """The NUCC name of a behavioural-health code; other codes as they are."""
    return BEHAVIOURAL_HEALTH_TAXONOMIES.get(taxonomy_code, taxonomy_code)
