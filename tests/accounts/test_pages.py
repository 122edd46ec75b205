"""Sign-up, the profile page, moderation in the admin: the HTML side of self-service."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from directory.models import Credential, Insurer, Therapist
from tests.accounts.conftest import signed_in, valid_npi

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "username": "sam",
    "email": "sam@example.org",
    "password1": "a-long-unusual-passphrase-42",
    "password2": "a-long-unusual-passphrase-42",
    "first_name": "Sam",
    "last_name": "Signup",
    "credentials": "LMFT",
}


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


def test_sign_up_creates_a_therapist_with_a_draft_profile_and_signs_in(client: Client) -> None:
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert 'for="id_npi"' in response.content.decode() and "csrfmiddlewaretoken" in response.content.decode()
    response = client.post("/accounts/signup/", {**SIGN_UP, "npi": valid_npi("199000010")})
    assert response.status_code == 302 and response.url == "/me/profile/"
    user = User.objects.get(username="sam")
    assert user.groups.filter(name="therapists").exists()
    assert user.therapist_profile.status == Therapist.Status.DRAFT
    assert client.get("/me/profile/").status_code == 200


def test_sign_up_errors_name_the_field(client: Client, listed_therapist: Therapist) -> None:
    response = client.post("/accounts/signup/", {**SIGN_UP, "npi": "1234567890"})
    assert response.status_code == 400
    assert "Luhn" in str(response.context["form"].errors["npi"])
    response = client.post("/accounts/signup/", {**SIGN_UP, "npi": listed_therapist.npi})
    assert response.status_code == 400 and "npi" in response.context["form"].errors
    assert not User.objects.filter(username="sam").exists()


def test_profile_page_saves_every_section_and_shows_the_located_office(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    response = client.post("/me/profile/", profile_post(new_therapist))
    assert response.status_code == 302
    new_therapist.refresh_from_db()
    office = new_therapist.offices.get()
    assert office.latitude is not None
    assert new_therapist.licensed_states.get().license_number == "R-1"
    assert new_therapist.insurer_links.get().insurer.slug == "aetna"
    assert new_therapist.ipt_credentials.get().level == "B"
    html = client.get("/me/profile/").content.decode()
    assert "Located: Brooklyn, NY" in html
    assert "Waiting for staff to verify" in html


def test_unknown_zip_is_a_form_error_and_nothing_is_saved(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    response = client.post(
        "/me/profile/", profile_post(new_therapist, **{"offices-0-postal_code": "00000", "profile-bio": "x"})
    )
    assert response.status_code == 400
    office_form = response.context["formsets"]["offices"].forms[0]
    assert "not a known US ZIP code" in str(office_form.errors["postal_code"])
    assert 'aria-invalid="true"' in response.content.decode()
    new_therapist.refresh_from_db()
    assert new_therapist.bio == "" and not new_therapist.offices.exists()


def test_fee_range_and_zip_state_errors_land_on_their_fields(new_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    data = profile_post(new_therapist, **{"profile-fee_min": "300", "offices-0-state": "NJ"})
    response = client.post("/me/profile/", data)
    assert response.status_code == 400
    assert "fee_max" in response.context["form"].errors
    assert "is in NY, not NJ" in str(response.context["formsets"]["offices"].forms[0].errors["postal_code"])


def test_pages_of_me_need_a_signed_in_therapist(client: Client, referrer: User) -> None:
    assert client.get("/me/profile/").status_code == 302
    assert client.post("/me/availability/confirm/").status_code == 302
    other = signed_in(referrer)
    assert other.get("/me/profile/").status_code == 403
    assert other.post("/me/profile/submit/").status_code == 403


def test_no_url_reaches_another_therapists_profile(new_therapist: Therapist, listed_therapist: Therapist) -> None:
    client = signed_in(new_therapist.user)
    # A draft is not public, and there is no id-bearing edit URL to try.
    assert client.get(f"/therapists/{new_therapist.slug}/").status_code == 404
    assert client.get(f"/me/profile/{listed_therapist.pk}/").status_code == 404
    assert client.get(f"/api/therapists/{new_therapist.pk}/").status_code == 404
    # The back office is for staff only.
    admin_page = client.get(f"/admin/directory/therapist/{listed_therapist.pk}/change/")
    assert admin_page.status_code == 302 and admin_page.url.startswith("/admin/login/")
    response = client.post("/me/profile/", profile_post(new_therapist, **{"profile-npi": listed_therapist.npi}))
    assert response.status_code == 400
    listed_therapist.refresh_from_db()
    assert listed_therapist.user.username == "lena" and listed_therapist.offices.count() == 1
    # Even a forged formset row id of another therapist's office leaves it alone.
    foreign_office = listed_therapist.offices.get()
    data = profile_post(
        new_therapist,
        **{**management("offices", 1, 1), "offices-0-id": str(foreign_office.pk), "offices-0-city": "Hijacked"},
    )
    client.post("/me/profile/", data)
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


def test_staff_make_a_referrer_from_the_user_admin(moderator: User) -> None:
    user = User.objects.create_user("office-manager", password="x-long-password-1")
    signed_in(moderator).post("/admin/auth/user/", {"action": "make_referrer", "_selected_action": [user.pk]})
    assert user.groups.filter(name="referrers").exists()


def test_admin_lists_and_filters_reports_and_credentials(moderator: User) -> None:
    staff = signed_in(moderator)
    assert staff.get("/admin/directory/listingreport/?reason=other").status_code == 200
    assert staff.get("/admin/directory/credential/?verified_at__isempty=1").status_code == 200


def test_auth_pages_render_with_labels(client: Client) -> None:
    for url in ("/accounts/login/", "/accounts/password_reset/", "/accounts/signup/"):
        html = client.get(url).content.decode()
        assert "<h1>" in html and "<label" in html and "csrfmiddlewaretoken" in html, url
    assert Client().get("/accounts/password_change/").status_code == 302


def test_account_forms_leave_the_focus_at_the_top_of_the_page(client: Client, listed_therapist: Therapist) -> None:
    # Autofocus would skip the "Skip to main content" link and the heading (Django's forms set it).
    for url in ("/accounts/login/", "/accounts/signup/"):
        assert "autofocus" not in client.get(url).content.decode(), url
    failed = client.post("/accounts/login/", {"username": "lena", "password": "wrong"})
    assert failed.status_code == 200 and "autofocus" not in failed.content.decode()
    password_page = signed_in(listed_therapist.user).get("/accounts/password_change/")
    assert password_page.status_code == 200 and "autofocus" not in password_page.content.decode()
    assert client.post("/accounts/login/", {"username": "lena", "password": "correct-horse-battery"}).status_code == 302


def test_password_reset_emails_a_working_link(client: Client, listed_therapist: Therapist) -> None:
    response = client.post("/accounts/password_reset/", {"email": "lena@example.org"})
    assert response.status_code == 302
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/accounts/reset/" in line)
    response = client.get(link.split("testserver")[1], follow=True)
    assert "Choose a new password" in response.content.decode()
