"""The profile page and moderation in the admin: the HTML side of a therapist's self-service."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from directory.models import Credential, Insurer, Therapist
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def management(prefix: str, total: int = 1, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def profile_post(therapist: Therapist, **overrides: str) -> dict:
    data = {
        "profile-first_name": therapist.first_name,
        "profile-last_name": therapist.last_name,
        "profile-credentials": therapist.credentials,
        "profile-npi": therapist.npi,
        "profile-email": therapist.email,
        "profile-offers_individual": "on",
        "profile-session_cadence": "weekly",
        "profile-serves_adults": "on",
        "profile-accepts_new_clients": "on",
        "profile-capacity": "3",
        "profile-fee_min": "100",
        "profile-fee_max": "150",
        **management("offices"),
        **management("licensed_states"),
        **management("insurers"),
        **management("ipt_credentials"),
        "offices-0-address": "1 Main St",
        "offices-0-city": "Brooklyn",
        "offices-0-state": "NY",
        "offices-0-postal_code": "11215",
        "licensed_states-0-state": "NY",
        "licensed_states-0-basis": "license",
        "licensed_states-0-license_number": "R-1",
        "insurers-0-insurer": str(Insurer.objects.get(slug="aetna").pk),
        "insurers-0-accepting_new_clients": "on",
        "ipt_credentials-0-issuer": "ipt-institute",
        "ipt_credentials-0-level": "B",
        "ipt_credentials-0-awarded_on": "2022-03-01",
    }
    data.update(overrides)
    return data


def section_post(prefix: str, *rows: dict, initial: int = 0) -> dict:
    """A list section's post: the management form and each row's fields under `prefix-N-`."""
    data = management(prefix, len(rows), initial)
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


OFFICE = {"address": "1 Main St", "city": "Brooklyn", "state": "NY", "postal_code": "11215"}


def test_an_old_one_page_post_is_saved_whole_and_the_office_shows_without_coordinates(
    new_therapist: Therapist,
) -> None:
    client = signed_in(new_therapist.user)
    response = client.post("/me/profile/", profile_post(new_therapist))
    assert response.status_code == 302 and response.url == "/me/profile/"
    new_therapist.refresh_from_db()
    office = new_therapist.offices.get()
    assert office.latitude is not None
    assert new_therapist.licensed_states.get().license_number == "R-1"
    assert new_therapist.insurer_links.get().insurer.slug == "aetna"
    assert new_therapist.ipt_credentials.get().level == "B"
    html = client.get("/me/profile/offices/").content.decode()
    assert "Found on the map: Brooklyn, NY" in html
    assert f"{office.latitude:.3f}" not in html and "latitude" not in html.lower()
    assert "Waiting for staff to verify" in client.get("/me/profile/training/").content.decode()


def test_an_old_one_page_post_with_an_error_saves_nothing_and_points_to_the_sections(
    new_therapist: Therapist,
) -> None:
    client = signed_in(new_therapist.user)
    data = profile_post(new_therapist, **{"offices-0-postal_code": "00000", "profile-bio": "x"})
    response = client.post("/me/profile/", data, follow=True)
    assert response.redirect_chain == [("/me/profile/", 302)]
    assert "edited one section at a time" in response.content.decode()
    new_therapist.refresh_from_db()
    assert new_therapist.bio == "" and not new_therapist.offices.exists()


def test_unknown_zip_is_a_form_error_and_nothing_is_saved(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    response = client.post("/me/profile/offices/", section_post("offices", {**OFFICE, "postal_code": "00000"}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "00000 is not a known US ZIP code" in html
    assert (
        'aria-invalid="true"' in html
        and 'aria-describedby="id_offices-0-postal_code_helptext id_offices-0-postal_code_error"' in html
    )
    assert not new_therapist.offices.exists()


def test_fee_range_and_zip_state_errors_land_on_their_fields(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    practice = {"offers_individual": "on", "session_cadence": "weekly", "fee_min": "300", "fee_max": "150"}
    response = client.post("/me/profile/practice/", practice)
    assert response.status_code == 400
    assert "fee_max" in response.context["form"].errors
    response = client.post("/me/profile/offices/", section_post("offices", {**OFFICE, "state": "NJ"}))
    assert "is in NY, not NJ" in str(response.context["formset"].forms[0].errors["postal_code"])


def test_no_url_reaches_another_therapists_profile(new_therapist: Therapist, listed_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    # A draft is not public, and there is no id-bearing edit URL to try.
    assert client.get(f"/therapists/{new_therapist.slug}/").status_code == 404
    assert client.get(f"/me/profile/{listed_therapist.pk}/").status_code == 404
    assert client.get(f"/api/therapists/{new_therapist.pk}/").status_code == 404
    # The back office is for staff only.
    admin_page = client.get(f"/admin/directory/therapist/{listed_therapist.pk}/change/")
    assert admin_page.status_code == 302 and admin_page.url.startswith("/admin/login/")
    about = {"first_name": "Nora", "last_name": "Newcomer", "credentials": "LCSW", "npi": listed_therapist.npi}
    assert client.post("/me/profile/about/", about).status_code == 400
    listed_therapist.refresh_from_db()
    assert listed_therapist.user.username == "lena" and listed_therapist.offices.count() == 1
    # Even a forged formset row id of another therapist's office leaves it alone.
    foreign_office = listed_therapist.offices.get()
    forged = section_post("offices", {**OFFICE, "id": str(foreign_office.pk), "city": "Hijacked"}, initial=1)
    client.post("/me/profile/offices/", forged)
    foreign_office.refresh_from_db()
    assert foreign_office.city == "Test"


def test_submit_then_staff_publish_then_it_is_listed(new_therapist: Therapist, moderator: User) -> None:
    therapist_client = signed_in(new_therapist.user)
    therapist_client.post("/me/profile/", profile_post(new_therapist))
    therapist_client.post("/me/availability/confirm/")
    therapist_client.post("/me/profile/submit/")
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PENDING

    staff = signed_in(moderator)
    queue = staff.get("/admin/directory/pendingprofile/")
    assert queue.status_code == 200
    assert "Nora Newcomer" in queue.content.decode() and "NY: R-1" in queue.content.decode()
    credential = new_therapist.ipt_credentials.get()
    staff.post("/admin/directory/credential/", {"action": "verify", "_selected_action": [credential.pk]})
    response = staff.post(
        "/admin/directory/pendingprofile/", {"action": "publish", "_selected_action": [new_therapist.pk]}
    )
    assert response.status_code == 302
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PUBLISHED
    assert new_therapist.training_level == Therapist.TrainingLevel.CERTIFIED
    assert mail.outbox[-1].to == ["nora@example.org"] and "published" in mail.outbox[-1].subject
    results = Client().get("/api/therapists/", {"q": "Newcomer", "near": "11215"}).json()["results"]
    assert [result["id"] for result in results] == [new_therapist.pk]


def test_request_changes_stores_and_emails_the_message(new_therapist: Therapist, moderator: User) -> None:
    Therapist.objects.filter(pk=new_therapist.pk).update(status=Therapist.Status.PENDING)
    staff = signed_in(moderator)
    url = "/admin/directory/pendingprofile/"
    staff.post(url, {"action": "request_changes", "_selected_action": [new_therapist.pk], "message": ""})
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PENDING
    message = "Please add your licence number for NY."
    staff.post(url, {"action": "request_changes", "_selected_action": [new_therapist.pk], "message": message})
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.RETURNED and new_therapist.moderation_note == message
    assert message in mail.outbox[-1].body
    assert message in signed_in(new_therapist.user).get("/me/profile/").content.decode()


def test_suspend_removes_a_listing(listed_therapist: Therapist, moderator: User) -> None:
    staff = signed_in(moderator)
    staff.post(
        "/admin/directory/therapist/", {"action": "suspend", "_selected_action": [listed_therapist.pk], "message": ""}
    )
    listed_therapist.refresh_from_db()
    assert listed_therapist.status == Therapist.Status.SUSPENDED
    assert Client().get(listed_therapist.get_absolute_url()).status_code == 404


def test_expired_credentials_do_not_count(new_therapist: Therapist, moderator: User) -> None:
    staff = signed_in(moderator)
    old = Credential.objects.create(
        therapist=new_therapist,
        issuer="isipt",
        level="isipt-supervisor",
        awarded_on="2010-01-01",
        expires_on="2015-01-01",
    )
    staff.post("/admin/directory/credential/", {"action": "verify", "_selected_action": [old.pk]})
    new_therapist.refresh_from_db()
    assert new_therapist.training_level == Therapist.TrainingLevel.TRAINED


def test_admin_lists_and_filters_reports_and_credentials(moderator: User) -> None:
    staff = signed_in(moderator)
    assert staff.get("/admin/directory/listingreport/?reason=other").status_code == 200
    assert staff.get("/admin/directory/credential/?verified_at__isempty=1").status_code == 200


def test_a_published_therapist_renamed_on_the_page_goes_back_to_review(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    client.post("/me/profile/", profile_post(new_therapist))
    Therapist.objects.filter(pk=new_therapist.pk).update(status=Therapist.Status.PUBLISHED)
    about = {"first_name": "Nora", "last_name": "Newcomer", "credentials": "LCSW", "npi": new_therapist.npi}

    client.post("/me/profile/about/", {**about, "bio": "Twenty years of IPT."})
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PUBLISHED  # staff vouched for nothing that changed
    assert new_therapist.bio == "Twenty years of IPT."

    response = client.post("/me/profile/about/", {**about, "last_name": "Newname"}, follow=True)
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PENDING
    assert "staff will review the profile again" in response.content.decode()
