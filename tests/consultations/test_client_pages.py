"""The client's pages: the request form from a card, a profile or a match, "Check your email", the status page."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from consultations import services
from consultations.models import Consultation, ConsultationRequest
from directory.models import Therapist
from tests.conftest import make_therapist, make_user, signed_in, valid_npi
from tests.consultations.conftest import SAM, SAM_MESSAGE, token_in

pytestmark = pytest.mark.django_db

SEARCH = "near=11215"
FORM = "/consultations/new/"


def request_links(page: str) -> list[str]:
    """The "Request a consultation" links of a page, unescaped."""
    return [html.unescape(link) for link in re.findall(r'href="(/consultations/new/\?[^"]+)"', page)]


def link_of(page: str, therapist: Therapist) -> str:
    found = [link for link in request_links(page) if parse_qs(urlsplit(link).query)["therapist"] == [str(therapist.pk)]]
    assert len(found) == 1, request_links(page)
    return found[0]


def checked_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="therapists" value="(\d+)" id="therapist-\d+" checked', page)]


def offered_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="therapists" value="(\d+)"', page)]


def error_summary(page: str) -> str:
    found = re.search(r'<div class="error-summary[^"]*".*?</div>', page, re.S)
    assert found, "no error summary"
    return found.group(0)


def filled(*therapists: Therapist, **overrides: object) -> dict:
    """The form as Sam fills it in, asking these therapists."""
    return {
        "therapists": [str(therapist.pk) for therapist in therapists],
        "first_name": SAM["first_name"],
        "email": SAM["email"],
        "phone": SAM["phone"],
        "preferred_times": ["weekday-evenings"],
        "insurance": "aetna",
        "formats": ["individual"],
        "message": SAM_MESSAGE,
        "consent": "on",
        **overrides,
    }


@pytest.fixture
def carl(db: None) -> Therapist:
    """A third Park Slope therapist, without an account."""
    return make_therapist(npi=valid_npi("199000201"), first_name="Carl", last_name="Third")


@pytest.fixture
def gone(db: None) -> Therapist:
    """A listed therapist whose account staff deactivated: cannot answer, so cannot be asked."""
    therapist = make_therapist(npi=valid_npi("199000202"), first_name="Gil", last_name="Gone")
    therapist.user = make_user("gil", "therapists", email="gil@therapy.example")
    therapist.save(update_fields=["user"])
    therapist.user.is_active = False
    therapist.user.save(update_fields=["is_active"])
    return therapist


# Reaching the form


def test_a_search_card_opens_the_form_with_its_therapist_ticked_and_the_search_s_others_offered(
    client: Client, pair: list[Therapist], carl: Therapist
) -> None:
    ada, ben = pair
    results = client.get("/therapists/", {"near": "11215"}).content.decode()
    link = link_of(results, ada)
    assert parse_qs(urlsplit(link).query)["from"] == [SEARCH]

    form = client.get(link)

    page = form.content.decode()
    assert form.status_code == 200
    assert checked_ids(page) == [ada.pk]
    # The others are that search's page of results, as the client saw it.
    shown = [int(parse_qs(urlsplit(link).query)["therapist"][0]) for link in request_links(results)]
    assert sorted(offered_ids(page)) == sorted(shown) and {ben.pk, carl.pk} <= set(shown)
    assert "Also ask others from your search" in page
    assert f'<input type="hidden" name="from" value="{SEARCH}">' in page
    assert "no-store" in form["Cache-Control"]


def test_the_profile_and_a_match_result_link_to_the_form_for_their_therapist(
    client: Client, pair: list[Therapist]
) -> None:
    ada, ben = pair
    profile = client.get(ada.get_absolute_url(), {"from": SEARCH}).content.decode()
    assert parse_qs(urlsplit(link_of(profile, ada)).query) == {"therapist": [str(ada.pk)], "from": [SEARCH]}

    matches = client.get("/match/", {"postal_code": "11215", "formats": ["individual"]}).content.decode()
    link = link_of(matches, ben)
    assert checked_ids(client.get(link).content.decode()) == [ben.pk]


def test_no_link_for_a_therapist_who_cannot_answer(client: Client, pair: list[Therapist], gone: Therapist) -> None:
    results = client.get("/therapists/", {"near": "11215"}).content.decode()
    assert "Gil Gone" in results
    linked = {parse_qs(urlsplit(link).query)["therapist"][0] for link in request_links(results)}
    assert str(gone.pk) not in linked and {str(therapist.pk) for therapist in pair} <= linked
    assert request_links(client.get(gone.get_absolute_url()).content.decode()) == []
    # Nor is the form fooled by a hand-made link.
    page = client.get(FORM, {"therapist": gone.pk})
    assert page.status_code == 400 and "not listed any more" in page.content.decode()


def test_the_form_without_a_therapist_points_to_the_search(client: Client, db: None) -> None:
    page = client.get(FORM)
    assert page.status_code == 200
    assert "Choose a therapist first" in page.content.decode() and '<form method="post"' not in page.content.decode()


@pytest.mark.parametrize(
    "therapist_parameter, message",
    [
        (["12abc"], "Choose therapists from the list."),
        (["-1"], "Choose therapists from the list."),
        (["9" * 30], "Choose therapists from the list."),
        (["999999"], "One of these therapists is not listed any more."),
    ],
)
def test_a_bad_link_shows_the_form_with_the_problem_not_an_error_page(
    client: Client, pair: list[Therapist], therapist_parameter: list[str], message: str
) -> None:
    page = client.get(FORM, {"therapist": therapist_parameter, "from": "near=00000&radius=x"})
    assert page.status_code == 400
    assert message in error_summary(page.content.decode())
    assert 'href="#therapists"' in page.content.decode()


def test_a_link_naming_four_therapists_asks_to_choose_three(
    client: Client, pair: list[Therapist], carl: Therapist
) -> None:
    fourth = make_therapist(npi=valid_npi("199000203"), first_name="Dot", last_name="Fourth")
    page = client.get(FORM, {"therapist": [*(t.pk for t in pair), carl.pk, fourth.pk]})
    assert page.status_code == 400
    assert "Choose at most 3 therapists at once." in error_summary(page.content.decode())
    assert len(checked_ids(page.content.decode())) == 4  # all still there, to untick one


def test_the_form_page_runs_as_many_queries_for_a_long_search_as_for_a_short_one(
    client: Client, pair: list[Therapist], django_assert_num_queries: object
) -> None:
    ada = pair[0]
    link = f"{FORM}?therapist={ada.pk}&from=q%3DListener"
    client.get(link)  # reads the reference tables into the per-process cache
    with CaptureQueriesContext(connection) as short:
        assert len(offered_ids(client.get(link).content.decode())) == 2
    for number in range(12):
        make_therapist(npi=valid_npi(f"1990004{number:02d}"), first_name=f"Extra{number}", last_name="Listener")
    with django_assert_num_queries(len(short.captured_queries)):
        page = client.get(link).content.decode()
    assert len(offered_ids(page)) == 14


# Sending it


def test_asking_two_from_one_search_stores_one_unsent_request_and_emails_only_the_client(
    client: Client, pair: list[Therapist]
) -> None:
    ada, ben = pair
    response = client.post(FORM, {**filled(ada, ben), "from": SEARCH})

    assert response.status_code == 302 and response["Location"] == "/consultations/sent/"
    request = ConsultationRequest.objects.get()
    assert request.therapist_ids == [ada.pk, ben.pk]
    assert (request.first_name, request.email, request.insurance.slug) == ("Sam", SAM["email"], "aetna")
    assert request.preferred_times == ["weekday-evenings"] and request.formats == ["individual"]
    assert [message.to for message in mail.outbox] == [[SAM["email"]]]
    # Nothing reaches a therapist before Sam confirms: no copy, no email, nothing in their inbox.
    assert not Consultation.objects.exists()
    for therapist in pair:
        assert "Sam" not in signed_in(therapist.user).get("/me/inbox/").content.decode()

    sent = client.get(response["Location"])
    text = sent.content.decode()
    assert "Check your email" in text and "24 hours" in text and "2 business days" in text
    assert SAM["email"] not in text and token_in(mail.outbox[0]) not in text


def test_the_client_s_details_never_appear_in_an_address(client: Client, pair: list[Therapist]) -> None:
    response = client.post(FORM, filled(pair[0]), follow=True)
    token = token_in(mail.outbox[0])
    addresses = [url for url, _status in response.redirect_chain]
    assert addresses == ["/consultations/sent/"]
    for detail in (SAM["email"], "sam.client", SAM["phone"], "Sam", token):
        assert not any(detail in url for url in addresses)


CASES = [
    ({"therapists": ["abc"]}, "Therapists to ask", "Choose therapists from the list."),
    ({"therapists": []}, "Therapists to ask", "Choose at least one therapist."),
    ({"therapists": ["999999"]}, "Therapists to ask", "One of these therapists is not listed any more."),
    ({"consent": ""}, "Share these details with the therapists I chose", "Agree to share these details"),
    ({"first_name": ""}, "First name", "Give your first name."),
    ({"first_name": "S" * 61}, "First name", "at most 60 characters"),
    ({"email": "not-an-address"}, "Email", "Enter an email address"),
    ({"phone": "5" * 31}, "Phone (optional)", "at most 30 characters"),
    ({"message": "m" * 1001}, "Message (optional)", "at most 1000 characters"),
    ({"insurance": "no-such-plan"}, "Insurance", "Select a valid choice"),
    ({"formats": ["couch"]}, "Formats you would like (optional)", "Select a valid choice"),
    ({"preferred_times": ["midnight"]}, "When could you meet? (optional)", "Select a valid choice"),
]


@pytest.mark.parametrize("change, label, message", CASES)
def test_a_wrong_answer_is_named_beside_its_field_and_in_the_summary(
    client: Client, pair: list[Therapist], change: dict, label: str, message: str
) -> None:
    response = client.post(FORM, filled(pair[0], **change))

    assert response.status_code == 400
    page = response.content.decode()
    summary = error_summary(page)
    assert f"<strong>{label}</strong>" in summary and message in summary
    assert page.count(message) >= 2  # in the summary and beside the field
    assert not ConsultationRequest.objects.exists() and mail.outbox == []
    # What Sam typed is kept.
    if "first_name" not in change:
        assert 'value="Sam"' in page


def test_four_therapists_and_missing_consent_are_both_told_at_once(
    client: Client, pair: list[Therapist], carl: Therapist
) -> None:
    fourth = make_therapist(npi=valid_npi("199000204"), first_name="Dot", last_name="Fourth")
    response = client.post(FORM, filled(*pair, carl, fourth, consent="", email="bad"))
    summary = error_summary(response.content.decode())
    assert response.status_code == 400
    for message in ("Choose at most 3 therapists at once.", "Agree to share", "Enter an email address"):
        assert message in summary
    assert len(checked_ids(response.content.decode())) == 4


def test_too_many_requests_today_is_a_429_page_that_says_so(
    client: Client, pair: list[Therapist], settings: object
) -> None:
    settings.CONSULTATION_LIMIT_PER_EMAIL = 1
    assert client.post(FORM, filled(pair[0])).status_code == 302

    response = client.post(FORM, filled(pair[1]))

    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many requests today" in page and 'value="Sam"' in page
    assert ConsultationRequest.objects.count() == 1 and len(mail.outbox) == 1


# The status page


def status_of(token: str) -> str:
    return f"/consultations/{token}/"


def test_before_confirming_the_page_names_who_will_receive_it_and_has_one_button(client: Client, sent: tuple) -> None:
    _request, token = sent
    page = client.get(status_of(token))
    text = page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert "Ada Listener" in text and "Ben Listener" in text
    assert text.count('type="submit"') - text.count('class="link-button"') == 1 and "Send my request" in text
    assert not Consultation.objects.exists()


def test_after_answers_the_page_says_in_plain_words_what_happened_and_what_to_do(
    client: Client, sent: tuple, pair: list[Therapist]
) -> None:
    _request, token = sent
    ada, ben = pair
    ada.phone, ada.email, ada.website = "718-555-0101", "ada@practice.example", "https://ada.example"
    ada.save(update_fields=["phone", "email", "website"])
    client.post(status_of(token), {"action": "confirm"})
    services.accept(consultation=Consultation.objects.get(therapist=ada))
    services.decline(consultation=Consultation.objects.get(therapist=ben), reason="insurance")

    text = client.get(status_of(token)).content.decode()

    accepted = text[text.index("Ada Listener") : text.index("Ben Listener")]
    assert "Accepted" in accepted and "Ada will contact you" in accepted
    assert 'href="tel:7185550101"' in accepted
    assert 'href="mailto:ada@practice.example"' in accepted and 'href="https://ada.example"' in accepted
    assert "They got in touch" in accepted and "I never heard back" in accepted
    declined = text[text.index("Ben Listener") :]
    assert "Declined" in declined and "they do not work with your insurance" in declined
    assert 'href="/therapists/">Search again' in declined
    assert SAM["email"] not in text and SAM["phone"] not in text


def test_the_client_withdraws_one_and_reports_on_the_other(client: Client, sent: tuple, pair: list[Therapist]) -> None:
    request, token = sent
    services.confirm_request(request=request)
    ada, ben = (Consultation.objects.get(therapist=therapist) for therapist in pair)
    services.accept(consultation=ada)

    withdrawn = client.post(status_of(token), {"action": "withdraw", "consultation": ben.pk}, follow=True)
    assert "Withdrawn" in withdrawn.content.decode() and "You withdrew this request" in withdrawn.content.decode()
    reported = client.post(status_of(token), {"action": "contacted", "consultation": ada.pk}, follow=True)
    assert "You told us: the therapist got in touch" in reported.content.decode()
    assert Consultation.objects.get(pk=ben.pk).status == "withdrawn"
    assert Consultation.objects.get(pk=ada.pk).outcome == "contacted"


def test_the_therapists_hear_of_it_only_after_the_client_confirms(client: Client, pair: list[Therapist]) -> None:
    client.post(FORM, filled(*pair))
    token = token_in(mail.outbox[0])
    assert [message.to for message in mail.outbox] == [[SAM["email"]]]

    client.post(status_of(token), {"action": "confirm"})

    assert sorted(message.to[0] for message in mail.outbox[1:]) == ["ada@therapy.example", "ben@therapy.example"]
    assert Consultation.objects.filter(status="open").count() == 2
