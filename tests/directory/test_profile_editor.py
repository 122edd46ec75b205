"""The profile editor, section by section: each section saves on its own, says what is wrong with links to the
fields, adds and removes rows without JavaScript, and the overview lists what is missing before submission."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.models import Credential, FocusArea, Insurer, LicensedState, Office, Therapist
from tests.conftest import signed_in, token_client
from tests.directory.test_profile_pages import OFFICE, section_post

pytestmark = pytest.mark.django_db

ABOUT = {"first_name": "Nora", "last_name": "Newcomer", "credentials": "LCSW", "email": "nora@example.org"}


def about(therapist: Therapist, **changes: str) -> dict:
    return {**ABOUT, "npi": therapist.npi, **changes}


def test_about_section_saves_only_its_own_fields(new_therapist: Therapist) -> None:
    Therapist.objects.filter(pk=new_therapist.pk).update(fee_min=90, capacity=4)
    client = signed_in(new_therapist.user)
    response = client.post("/me/profile/about/", about(new_therapist, bio="IPT for grief.", pronouns="she/her"))
    assert response.status_code == 302 and response.url == "/me/profile/"
    new_therapist.refresh_from_db()
    assert (new_therapist.bio, new_therapist.pronouns) == ("IPT for grief.", "she/her")
    assert (new_therapist.fee_min, new_therapist.capacity) == (90, 4)  # other sections untouched


def test_practice_section_saves_formats_focus_and_fees(new_therapist: Therapist) -> None:
    grief = FocusArea.objects.get(slug="grief-loss")
    practice = {
        "offers_online": "on", "session_cadence": "biweekly", "serves_adolescents": "on",
        "focus_areas": [str(grief.pk)], "fee_min": "80", "fee_max": "120", "sliding_scale": "on",
    }  # fmt: skip
    response = signed_in(new_therapist.user).post("/me/profile/practice/", practice)
    assert response.status_code == 302
    new_therapist.refresh_from_db()
    assert new_therapist.formats == ["online"] and new_therapist.age_groups == ["adolescents"]
    assert list(new_therapist.focus_areas.all()) == [grief]
    assert (new_therapist.fee_min, new_therapist.fee_max, new_therapist.sliding_scale) == (80, 120, True)


def test_each_list_section_saves_its_rows(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    aetna = Insurer.objects.get(slug="aetna")
    posts = {
        "offices": section_post("offices", OFFICE),
        "licences": section_post("licensed_states", {"state": "NY", "basis": "license", "license_number": "R-9"}),
        "insurance": section_post("insurers", {"insurer": str(aetna.pk), "accepting_new_clients": "on"}),
        "training": section_post("ipt_credentials", {"issuer": "isipt", "level": "isipt-therapist",
                                                     "awarded_on": "2021-04-01"}),
    }  # fmt: skip
    for section, data in posts.items():
        response = client.post(f"/me/profile/{section}/", data)
        assert response.status_code == 302, section
    assert new_therapist.offices.get().city == "Brooklyn"
    assert new_therapist.licensed_states.get().license_number == "R-9"
    assert new_therapist.insurer_links.get().insurer == aetna
    assert new_therapist.ipt_credentials.get().level == "isipt-therapist"


def test_availability_section_tick_confirms_availability(new_therapist: Therapist) -> None:
    Therapist.objects.filter(pk=new_therapist.pk).update(accepts_new_clients=False)
    before = timezone.now()
    response = signed_in(new_therapist.user).post("/me/profile/availability/", {"accepts_new_clients": "on",
                                                                              "capacity": "2"})  # fmt: skip
    assert response.status_code == 302
    new_therapist.refresh_from_db()
    assert new_therapist.capacity == 2 and new_therapist.availability_confirmed_at >= before


def test_error_summary_links_to_each_invalid_field(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    response = client.post("/me/profile/about/", about(new_therapist, first_name="", email="not-an-email"))
    assert response.status_code == 400
    html = response.content.decode()
    summary = html[html.index('class="error-summary"') : html.index("</ul>", html.index('class="error-summary"'))]
    assert '<a href="#id_first_name">First name: This field is required.</a>' in summary
    assert '<a href="#id_email">Email: Enter a valid email address.</a>' in summary
    assert re.search(r'<input [^>]*aria-invalid="true" aria-describedby="id_first_name_error" id="id_first_name"', html)
    assert "<title>Error: About you" in html


def test_error_summary_names_the_row_and_field_of_a_list(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    data = section_post("offices", OFFICE, {**OFFICE, "postal_code": "00000"})
    html = client.post("/me/profile/offices/", data).content.decode()
    assert '<a href="#id_offices-1-postal_code">Office 2, ZIP code: 00000 is not a known US ZIP code.</a>' in html
    assert not new_therapist.offices.exists()


def test_add_another_shows_one_more_empty_row_and_saves_nothing(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    response = client.post("/me/profile/offices/", {**section_post("offices", OFFICE), "add": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="offices-TOTAL_FORMS" value="2"' in html
    assert 'value="1 Main St"' in html and 'id="id_offices-1-address"' in html
    assert "error-summary" not in html and "This field is required" not in html
    assert not new_therapist.offices.exists()
    # The new row, filled in, is saved with the first.
    second = {**OFFICE, "address": "2 Court St"}
    assert client.post("/me/profile/offices/", section_post("offices", OFFICE, second)).status_code == 302
    assert sorted(new_therapist.offices.values_list("address", flat=True)) == ["1 Main St", "2 Court St"]


def test_remove_hides_the_row_until_save_deletes_it(listed_therapist: Therapist) -> None:
    client = signed_in(listed_therapist.user)
    office = listed_therapist.offices.get()
    kept = {"id": str(office.pk), "address": office.address, "city": office.city, "state": office.state,
            "postal_code": office.postal_code}  # fmt: skip
    data = section_post("offices", kept, {**OFFICE, "address": "2 Court St"}, initial=1)
    response = client.post("/me/profile/offices/", {**data, "remove": "offices-0"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="offices-0-row"' not in html and 'id="offices-1-row"' in html
    assert '<input type="hidden" name="offices-0-DELETE" value="on">' in html
    assert Office.objects.filter(pk=office.pk).exists()  # nothing saved yet
    # Save posts the page as re-shown: the removed row goes, the other stays.
    saved = {**data, "offices-0-DELETE": "on"}
    assert client.post("/me/profile/offices/", saved).status_code == 302
    assert list(listed_therapist.offices.values_list("address", flat=True)) == ["2 Court St"]


def test_the_credential_form_groups_levels_by_issuer_and_refuses_another_issuers_level(
    new_therapist: Therapist,
) -> None:
    client = signed_in(new_therapist.user)
    html = client.get("/me/profile/training/").content.decode()
    institute = html[html.index('<optgroup label="IPT Institute">') :]
    institute = institute[: institute.index("</optgroup>")]
    assert 'value="B"' in institute and "isipt-therapist" not in institute
    assert '<optgroup label="International Society of IPT (ISIPT)">' in html
    data = section_post("ipt_credentials", {"issuer": "isipt", "level": "B", "awarded_on": "2021-04-01"})
    response = client.post("/me/profile/training/", data)
    assert response.status_code == 400
    assert "does not award" in str(response.context["formset"].forms[0].errors["level"])
    assert '<a href="#id_ipt_credentials-0-level">Credential 1, Level:' in response.content.decode()
    assert not Credential.objects.filter(therapist=new_therapist).exists()


def test_the_api_refuses_a_level_of_another_issuer(new_therapist: Therapist) -> None:
    credential = {"issuer": "ipt-institute", "level": "isipt-supervisor", "awarded_on": "2021-04-01"}
    response = token_client(new_therapist.user).patch(
        "/api/me/profile/", {"ipt_credentials": [credential]}, format="json"
    )
    assert response.status_code == 400
    assert "ipt_credentials[0].level" in response.json()["errors"]
    assert not new_therapist.ipt_credentials.exists()


def test_the_overview_lists_what_is_missing_and_offers_submit_only_when_complete(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    html = client.get("/me/profile/").content.decode()
    assert '<a href="/me/profile/licences/">Add at least one state where you are licensed.</a>' in html
    assert '<a href="/me/profile/offices/">Add an office, or offer online sessions.</a>' in html
    assert "Submit for review" not in html
    LicensedState.objects.create(therapist=new_therapist, state="NY")
    Office.objects.create(therapist=new_therapist, latitude=40.6, longitude=-74.0, **OFFICE)
    html = client.get("/me/profile/").content.decode()
    assert "Needed to submit" not in html and "Submit for review" in html
    assert '<a href="/me/profile/training/">' in html  # still recommended
    client.post("/me/profile/submit/")
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PENDING


def section_marks(html: str) -> dict[str, str]:
    """Each section link of the overview with the words after it ("Needed to submit", "To add", "Done" or "")."""
    nav = html.split('id="sections-heading"')[1].split("</nav>")[0]
    items = re.findall(r'<li><a href="/me/profile/([a-z]+)/">[^<]+</a>(.*?)</li>', nav)
    return {slug: re.sub(r"<[^>]+>|✓", "", rest).strip() for slug, rest in items}


def test_the_section_list_marks_what_each_section_still_needs(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    marks = section_marks(client.get("/me/profile/").content.decode())
    assert marks["licences"] == "Needed to submit" and marks["offices"] == "Needed to submit"
    assert marks["training"] == "To add" and marks["practice"] == ""
    LicensedState.objects.create(therapist=new_therapist, state="NY")
    marks = section_marks(client.get("/me/profile/").content.decode())
    assert marks["licences"] == "Done" and marks["offices"] == "Needed to submit"


def test_an_unknown_section_is_not_found(new_therapist: Therapist) -> None:
    assert signed_in(new_therapist.user).get("/me/profile/fees-and-stuff/").status_code == 404


@pytest.mark.parametrize("section", ["offices", "licences", "insurance", "training"])
def test_a_list_section_page_runs_the_same_queries_for_one_row_or_five(
    listed_therapist: Therapist, section: str
) -> None:
    client = signed_in(listed_therapist.user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/me/profile/{section}/").status_code == 200
        return len(captured)

    LicensedState.objects.filter(therapist=listed_therapist).delete()
    LicensedState.objects.create(therapist=listed_therapist, state="NY")
    listed_therapist.insurer_links.all().delete()
    listed_therapist.insurer_links.create(insurer=Insurer.objects.get(slug="aetna"))
    Credential.objects.create(therapist=listed_therapist, issuer="ipt-institute", level="A", awarded_on="2020-01-01")
    one = queries()
    for index, state in enumerate(["NJ", "CT", "PA", "MA"]):
        Office.objects.create(therapist=listed_therapist, latitude=40.6, longitude=-74.0, **OFFICE)
        LicensedState.objects.create(therapist=listed_therapist, state=state)
        listed_therapist.insurer_links.create(insurer=Insurer.objects.exclude(slug="aetna")[index])
        Credential.objects.create(
            therapist=listed_therapist, issuer="ipt-institute", level="B", awarded_on="2021-01-01"
        )
    assert queries() == one


@pytest.mark.parametrize("url", ["/me/profile/", "/me/profile/about/", "/me/profile/practice/"])
def test_the_overview_and_field_sections_run_a_fixed_number_of_queries(
    listed_therapist: Therapist, url: str, django_assert_max_num_queries: object
) -> None:
    client = signed_in(listed_therapist.user)
    with django_assert_max_num_queries(16):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({}, 400),  # Save without the management form: refused with a message
        ({"offices-TOTAL_FORMS": "many", "offices-INITIAL_FORMS": "0", "add": "1"}, 200),  # re-shown, unsaved
        ({"remove": "../../etc"}, 200),
    ],
)
def test_a_mangled_list_post_is_answered_without_a_500_and_saves_nothing(
    new_therapist: Therapist, data: dict, status: int
) -> None:
    response = signed_in(new_therapist.user).post("/me/profile/offices/", data)
    assert response.status_code == status
    if status == 400:
        assert '<a href="#rows">' in response.content.decode()
    assert not new_therapist.offices.exists()
