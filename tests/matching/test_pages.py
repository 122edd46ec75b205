"""Pages of matching: the client's questionnaire, the referrer's forms, the therapist's inbox."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from directory import search
from directory.models import Language, Therapist
from matching import ranking
from matching.models import Offer, PHIAccess, Referral
from matching.templatetags import matching_tags

pytestmark = pytest.mark.django_db

FORM = {
    "patient_name": "Ana Example-Patient", "patient_birth_date": "1979-11-02", "patient_phone": "555-222-3333",
    "postal_code": "11215", "insurance": "aetna", "formats": ["individual", "online"],
    "focus_areas": ["grief-loss"], "urgency": "routine", "consent": "true",
    "clinician_name": "Dr. Lena Rivera", "clinician_npi": "1234567893", "clinician_phone": "312 555 0199",
}  # fmt: skip


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_find_my_match_questionnaire_and_results(client: Client) -> None:
    form = client.get("/match/").content.decode()
    assert '<label for="id_postal_code">' in form
    assert "I lost someone important to me." in form
    response = client.get("/match/", {"postal_code": "11215", "insurance": "self-pay", "max_fee": "150",
                                      "formats": ["individual", "online"], "focus_areas": "grief-loss"})  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["results"]
    assert "Fit " in html and "How the score adds up" in html
    assert "Not shown, and why" in html or not response.context["excluded"]


def test_find_my_match_errors_name_the_field(client: Client) -> None:
    response = client.get("/match/", {"postal_code": "00000"})
    assert response.status_code == 400
    assert "could not locate" in response.content.decode()


def test_referrer_submits_offers_and_sees_the_status(referrer: User, therapist_user: User,
                                                    accepting_therapist: Therapist) -> None:  # fmt: skip
    physician = signed_in(referrer)
    assert physician.get("/referrals/new/").status_code == 200
    response = physician.post("/referrals/new/", FORM)
    assert response.status_code == 302
    referral = Referral.objects.get(referrer=referrer)
    detail = physician.get(response["Location"])
    html = detail.content.decode()
    assert detail["Cache-Control"].startswith("max-age=0") or "no-store" in detail["Cache-Control"]
    assert "Ana Example-Patient" in html and accepting_therapist.full_name in html
    assert PHIAccess.objects.filter(user=referrer, referral=referral).exists()

    # Digits other than ASCII are no therapist id (int() refuses "²"): the form says to choose one.
    refused = physician.post(f"/referrals/{referral.pk}/offer/", {"therapist": ["²"]})
    assert refused.status_code == 400
    referral.refresh_from_db()
    assert referral.status != "offered"
    # Nor is a number past the largest id (the database would overflow), alone or beside a real one.
    for values in (["9223372036854775808"], [accepting_therapist.pk, "99999999999999999999999"]):
        refused = physician.post(f"/referrals/{referral.pk}/offer/", {"therapist": values})
        assert refused.status_code == 400 and "Choose at least one therapist" in refused.content.decode()
        referral.refresh_from_db()
        assert referral.status != "offered"

    physician.post(f"/referrals/{referral.pk}/offer/", {"therapist": [accepting_therapist.pk]})
    referral.refresh_from_db()
    assert referral.status == "offered"

    therapist = signed_in(therapist_user)
    offer = Offer.objects.get(referral=referral)
    inbox = therapist.get("/me/inbox/").content.decode()
    assert "Ana Example-Patient" not in inbox and "ZIP 112xx" in inbox
    before = therapist.get(f"/me/offers/{offer.pk}/").content.decode()
    assert "Ana Example-Patient" not in before and "555-222-3333" not in before
    therapist.post(f"/me/offers/{offer.pk}/accept/")
    after = therapist.get(f"/me/offers/{offer.pk}/").content.decode()
    assert "Ana Example-Patient" in after and "555-222-3333" in after
    assert PHIAccess.objects.filter(user=therapist_user, channel="page:offer").exists()
    # The inbox shows summaries only, even of an accepted offer: it reads no patient details, so logs none.
    inbox = therapist.get("/me/inbox/").content.decode()
    assert "Ana Example-Patient" not in inbox
    assert not PHIAccess.objects.filter(user=therapist_user, channel="page:inbox").exists()
    assert re.search(r"Status: Accepted", physician.get(f"/referrals/{referral.pk}/").content.decode())


def test_crisis_referral_shows_emergency_guidance(referrer: User) -> None:
    response = signed_in(referrer).post("/referrals/new/", {**FORM, "urgency": "crisis"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "911" in html and "988" in html
    assert not Referral.objects.exists()


def test_referral_form_errors_keep_what_was_typed(referrer: User) -> None:
    unticked = {name: value for name, value in FORM.items() if name != "consent"}
    response = signed_in(referrer).post("/referrals/new/", unticked)
    html = response.content.decode()
    assert response.status_code == 400
    assert "consented" in response.context["errors"]["consent"][0]
    assert 'value="Ana Example-Patient"' in html
    no_contact = signed_in(referrer).post("/referrals/new/", {**FORM, "patient_phone": ""})
    assert "patient_phone" in no_contact.context["errors"]
    assert not Referral.objects.exists()


def test_error_summaries_name_fields_by_their_labels(client: Client, referrer: User) -> None:
    unknown_zip = error_summary_of(client.get("/match/", {"postal_code": "00000"}).content.decode())
    assert "<strong>Your ZIP code or city</strong>: could not locate" in unknown_zip
    assert "postal_code" not in unknown_zip
    # A bad item of a list: its message, not its position.
    bad_format = error_summary_of(
        client.get("/match/", {"postal_code": "11215", "formats": ["online", "couch"]}).content.decode()
    )
    assert (
        "<strong>How would you like to meet? (choose any)</strong>: &quot;couch&quot; is not a valid choice."
        in bad_format
    )
    physician = signed_in(referrer)
    unticked = {name: value for name, value in FORM.items() if name != "consent"}
    no_consent = error_summary_of(physician.post("/referrals/new/", unticked).content.decode())
    assert "<strong>The patient agreed to be referred and to share these details" in no_consent
    no_contact = error_summary_of(physician.post("/referrals/new/", {**FORM, "patient_phone": ""}).content.decode())
    assert "<strong>Patient&#x27;s phone</strong>: Give a phone number or an email" in no_contact


def error_summary_of(html: str) -> str:
    return html.split('class="error-summary"', 1)[1].split("</div>", 1)[0]


def test_pages_refuse_the_wrong_people(client: Client, referrer: User, other_referrer: User,
                                      therapist_user: User) -> None:  # fmt: skip
    response = signed_in(referrer).post("/referrals/new/", FORM)
    referral_url = response["Location"]
    assert client.get(referral_url).status_code == 302  # to the login page
    assert signed_in(other_referrer).get(referral_url).status_code == 404
    assert signed_in(therapist_user).get(referral_url).status_code == 403
    assert signed_in(referrer).get("/me/inbox/").status_code == 403


def test_every_page_carries_the_emergency_notice(client: Client, referrer: User) -> None:
    for url in ("/", "/therapists/", "/match/"):
        assert "988" in client.get(url).content.decode()
    assert "988" in signed_in(referrer).get("/referrals/").content.decode()


def test_forms_send_strings_and_the_shared_serializers_still_read_them(referrer: User) -> None:
    # The API refuses "150" for max_fee and "on" for a boolean; a form can send nothing else.
    form = {**FORM, "consent": "on", "insurance": "", "max_fee": "150", "language": "es", "language_required": "on"}
    response = signed_in(referrer).post("/referrals/new/", form)
    assert response.status_code == 302
    referral = Referral.objects.get(referrer=referrer)
    assert (referral.max_fee, referral.language, referral.insurance) == (150, "es", None)


def test_staff_cannot_filter_referrals_by_patient_details(referrer: User) -> None:
    """`?notes__icontains=…` on the admin list would read PHI by trial and error, unlogged: refused."""
    signed_in(referrer).post("/referrals/new/", FORM)
    staff = User.objects.create_superuser("staff-reviewer", "staff@example.org", "correct-horse-battery")
    admin = signed_in(staff)
    assert admin.get("/admin/matching/referral/", {"status": "matched"}).status_code == 200
    for lookup in ("patient_name__startswith", "notes__icontains", "patient_birth_date", "patient_phone__contains"):
        assert admin.get("/admin/matching/referral/", {lookup: "A"}).status_code == 400, lookup
    assert not PHIAccess.objects.filter(user=staff).exists()


def test_after_a_match_the_results_come_before_the_answers(client: Client, accepting_therapist: Therapist) -> None:
    html = client.get("/match/", {"postal_code": "11215", "formats": ["individual", "online"]}).content.decode()
    assert html.index('id="results-heading"') < html.index("Dana Accepting") < html.index('<form method="get"')
    assert "<summary>Change your answers</summary>" in html
    assert '<details class="edit-filters card">' in html  # folded away: the results are on screen first
    first_visit = client.get("/match/").content.decode()
    assert "Change your answers" not in first_visit and "results-heading" not in first_visit


def test_a_result_shows_contact_fees_and_what_does_not_fit_in_plain_words(
    client: Client, accepting_therapist: Therapist, full_therapist: Therapist
) -> None:
    Language.objects.get_or_create(code="es", defaults={"name": "Spanish"})
    Therapist.objects.filter(pk=accepting_therapist.pk).update(
        phone="(718) 555-0101",
        email="dana@therapy.example",
        website="https://dana.example",
        fee_min=150,
        sliding_scale=True,
    )
    search.refresh([accepting_therapist.pk])
    response = client.get("/match/", {"postal_code": "11215", "insurance": "self-pay", "max_fee": "100",
                                      "formats": ["individual"], "language": "es"})  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert "Does not speak Spanish" in html and "Over your fee limit" in html
    assert 'href="tel:7185550101"' in html and 'href="mailto:dana@therapy.example"' in html
    assert 'href="https://dana.example"' in html and "$150" in html
    assert "Speaks your language" in html and "Has room for new clients" in html
    assert "Load" not in html and "Not published" not in html
    assert re.search(r"<li>\d+ therapists? nearby (is|are) not taking new clients</li>", html)


def test_the_location_takes_a_city_and_errors_speak_of_zip_codes_and_cities(
    client: Client, accepting_therapist: Therapist
) -> None:
    form = client.get("/match/").content.decode()
    assert 'maxlength="80"' in form and 'inputmode="numeric"' not in form
    city = client.get("/match/", {"postal_code": "St. Louis, MO", "formats": ["online"]})
    assert city.status_code == 200 and city.context["place"].label == "Saint Louis, MO"
    unknown = client.get("/match/", {"postal_code": "Atlantis, ZZ"})
    summary = error_summary_of(unknown.content.decode())
    assert unknown.status_code == 400
    assert "ZIP code" in summary and "city" in summary and "lat" not in summary


def test_every_exclusion_and_score_component_has_words_for_clients() -> None:
    assert set(matching_tags.EXCLUSION_SENTENCES) == set(ranking.EXCLUSION_REASONS)
    assert set(matching_tags.COMPONENT_LABELS) == set(ranking.COMPONENTS)
    assert matching_tags.exclusion_sentence("not_accepting", 1) == "1 therapist nearby is not taking new clients"
    assert matching_tags.exclusion_sentence("not_accepting", 12) == "12 therapists nearby are not taking new clients"
