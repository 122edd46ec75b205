"""Staff tools that tell the truth, and the trap they closed: a published, accepting therapist is found."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from consultations.dashboard import waiting_for_staff
from consultations.models import Consultation
from directory import profiles, search
from directory.models import Credential, LicensedState, ListingReport, Therapist
from matching.models import Offer, Referral
from outbox.models import Email
from tests.conftest import make_therapist, signed_in, token_client, valid_npi
from tests.directory.test_photos import image_bytes, upload
from tests.directory.test_profile_pages import profile_post

pytestmark = pytest.mark.django_db

PENDING_URL = "/admin/directory/pendingprofile/"
REPORTS_URL = "/admin/directory/listingreport/"


def unchanged_review_fields(therapist: Therapist) -> dict:
    """The profile page's form with the licence and credentials as listed, so the profile stays published."""
    return profile_post(therapist, **{"licensed_states-0-license_number": "", "ipt_credentials-TOTAL_FORMS": "0"})


def accepting_ids(name: str) -> list[int]:
    """The default search of the API (`accepting=true`), narrowed to a name."""
    results = Client().get("/api/therapists/", {"accepting": "true", "q": name, "page_size": 100}).json()["results"]
    return [result["id"] for result in results]


def silenced_and_closed(therapist: Therapist) -> Therapist:
    """Not accepting, never confirmed, and silenced for unanswered requests."""
    Therapist.objects.filter(pk=therapist.pk).update(
        accepts_new_clients=False, availability_confirmed_at=None, silenced_at=timezone.now()
    )
    search.refresh([therapist.pk])
    therapist.refresh_from_db()
    return therapist


def test_ticking_accepting_on_the_profile_page_confirms_availability_and_lifts_a_silence(
    listed_therapist: Therapist,
) -> None:
    therapist = silenced_and_closed(listed_therapist)
    assert accepting_ids("Lena Listed") == []
    before = timezone.now()
    response = signed_in(therapist.user).post("/me/profile/", unchanged_review_fields(therapist))
    assert response.status_code == 302
    therapist.refresh_from_db()
    assert therapist.status == Therapist.Status.PUBLISHED
    assert therapist.accepts_new_clients and therapist.availability_confirmed_at >= before
    assert therapist.silenced_at is None and therapist.silence_lifted_at >= before
    assert accepting_ids("Lena Listed") == [therapist.pk]


def test_ticking_accepting_through_the_api_confirms_availability(listed_therapist: Therapist) -> None:
    therapist = silenced_and_closed(listed_therapist)
    response = token_client(therapist.user).patch("/api/me/profile/", {"accepting_new_clients": True}, format="json")
    assert response.status_code == 200
    therapist.refresh_from_db()
    assert therapist.availability_confirmed_at is not None and therapist.silenced_at is None
    assert accepting_ids("Lena Listed") == [therapist.pk]


def test_saving_with_the_tick_left_on_does_not_reconfirm(listed_therapist: Therapist) -> None:
    old = timezone.now() - datetime.timedelta(days=90)
    Therapist.objects.filter(pk=listed_therapist.pk).update(availability_confirmed_at=old)
    listed_therapist.refresh_from_db()
    signed_in(listed_therapist.user).post("/me/profile/", unchanged_review_fields(listed_therapist))
    listed_therapist.refresh_from_db()
    # Only turning the tick on vouches for today; a save of other fields does not.
    assert listed_therapist.availability_confirmed_at == old


def test_publishing_a_never_confirmed_profile_confirms_it_and_it_appears_in_the_default_search(
    new_therapist: Therapist, moderator: User
) -> None:
    therapist_client = signed_in(new_therapist.user)
    therapist_client.post("/me/profile/", profile_post(new_therapist, **{"ipt_credentials-TOTAL_FORMS": "0"}))
    therapist_client.post("/me/profile/submit/")
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PENDING and new_therapist.availability_confirmed_at is None

    before = timezone.now()
    signed_in(moderator).post(PENDING_URL, {"action": "publish", "_selected_action": [new_therapist.pk]})
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PUBLISHED
    assert new_therapist.availability_confirmed_at >= before
    assert accepting_ids("Nora Newcomer") == [new_therapist.pk]


def test_publishing_keeps_an_earlier_confirmation(new_therapist: Therapist, moderator: User) -> None:
    confirmed = timezone.now() - datetime.timedelta(days=3)
    Therapist.objects.filter(pk=new_therapist.pk).update(
        status=Therapist.Status.PENDING, availability_confirmed_at=confirmed
    )
    signed_in(moderator).post(PENDING_URL, {"action": "publish", "_selected_action": [new_therapist.pk]})
    new_therapist.refresh_from_db()
    assert new_therapist.status == Therapist.Status.PUBLISHED
    assert new_therapist.availability_confirmed_at == confirmed


# Action messages count what they changed


def action_messages(response: HttpResponse) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(user: User, url: str, action: str, objects: list[Model], **data: str) -> list[str]:
    selected = [instance.pk for instance in objects]
    response = signed_in(user).post(url, {"action": action, "_selected_action": selected, "message": "", **data})
    assert response.status_code == 302
    return action_messages(response)


@pytest.fixture
def pending_pair(db: None) -> list[Therapist]:
    """Two profiles waiting for review, without IPT credentials to verify."""
    return [
        make_therapist(npi=valid_npi(f"19900010{index}"), last_name=f"Pending{index}", status=Therapist.Status.PENDING)
        for index in (1, 2)
    ]


def test_publishing_from_the_queue_says_how_many_were_published(moderator: User, pending_pair: list) -> None:
    messages = run_action(moderator, PENDING_URL, "publish", pending_pair)
    assert messages == ["Published 2 of 2 selected profile(s). Each therapist with an email address was told."]
    assert not Therapist.objects.filter(pk__in=[therapist.pk for therapist in pending_pair]).awaiting_review()


def test_publishing_says_which_were_skipped_and_why(
    moderator: User, pending_pair: list, listed_therapist: Therapist
) -> None:
    messages = run_action(moderator, "/admin/directory/therapist/", "publish", [*pending_pair, listed_therapist])
    assert messages[0].startswith("Published 2 of 3 selected profile(s); 1 skipped: already published.")


def test_suspending_counts_only_the_profiles_it_took_down(
    moderator: User, listed_therapist: Therapist, pending_pair: list, mailoutbox: list
) -> None:
    Therapist.objects.filter(pk=pending_pair[0].pk).update(status=Therapist.Status.SUSPENDED)
    messages = run_action(moderator, "/admin/directory/therapist/", "suspend", [listed_therapist, pending_pair[0]])
    assert messages == ["Suspended 1 of 2 selected profile(s); 1 skipped: already suspended."]
    # The profile already suspended is not told again.
    assert [message.to for message in mailoutbox] == [["lena@example.org"]]


def test_request_changes_counts_the_profiles_sent_back(moderator: User, pending_pair: list) -> None:
    messages = run_action(moderator, PENDING_URL, "request_changes", pending_pair, message="Add your licence number.")
    assert messages == ["Sent 2 profile(s) back with your message."]


def test_verifying_keeps_the_first_record_and_says_so(moderator: User, new_therapist: Therapist) -> None:
    earlier = timezone.now() - datetime.timedelta(days=5)
    first = Credential.objects.create(
        therapist=new_therapist, issuer="ipt-institute", level="B", awarded_on=datetime.date(2022, 3, 1),
        verified_at=earlier,
    )  # fmt: skip
    second = Credential.objects.create(
        therapist=new_therapist, issuer="ipt-institute", level="A", awarded_on=datetime.date(2020, 3, 1)
    )
    messages = run_action(moderator, "/admin/directory/credential/", "verify", [first, second])
    assert messages == [
        "Verified 1 of 2 selected credential(s); 1 skipped: already verified (record kept). Training levels updated."
    ]
    first.refresh_from_db(), second.refresh_from_db()
    assert first.verified_at == earlier and second.verified_by == moderator


def test_resolving_reports_counts_the_open_ones(moderator: User, listed_therapist: Therapist) -> None:
    open_report = ListingReport.objects.create(therapist=listed_therapist, reason="unreachable")
    resolved = ListingReport.objects.create(therapist=listed_therapist, reason="other", resolved_at=timezone.now())
    messages = run_action(moderator, REPORTS_URL, "resolve", [open_report, resolved])
    assert messages == ["Resolved 1 of 2 selected report(s); 1 skipped: already resolved."]


def test_approving_photos_counts_them(moderator: User, therapist_user: User, settings: object, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    token_client(therapist_user).put("/api/me/profile/photo/", {"photo": upload(image_bytes())}, format="multipart")
    dana = Therapist.objects.get(user=therapist_user)
    messages = run_action(moderator, "/admin/directory/pendingphoto/", "approve", [dana])
    assert messages == ["Approved 1 of 1 selected photo(s). Each therapist with an email address was told."]


# Publishing with an unverified IPT credential


@pytest.fixture
def pending_with_claim(pending_pair: list) -> tuple[Therapist, Credential]:
    therapist = pending_pair[0]
    credential = Credential.objects.create(
        therapist=therapist, issuer="ipt-institute", level="B", awarded_on=datetime.date(2022, 3, 1),
        certificate_number="IPTI-B-0042",
    )  # fmt: skip
    return therapist, credential


def test_publishing_an_unverified_credential_asks_first_and_changes_nothing(
    moderator: User, pending_with_claim: tuple
) -> None:
    therapist, credential = pending_with_claim
    staff = signed_in(moderator)
    response = staff.post(PENDING_URL, {"action": "publish", "_selected_action": [therapist.pk]})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Publish profiles with unverified IPT credentials?" in page
    assert therapist.full_name in page and "IPTI-B-0042" in page
    assert "Publish and mark verified" in page and "Cancel" in page
    therapist.refresh_from_db(), credential.refresh_from_db()
    assert therapist.status == Therapist.Status.PENDING and credential.verified_at is None


def test_publish_and_mark_verified_records_who_verified_and_when(
    moderator: User, pending_with_claim: tuple, pending_pair: list
) -> None:
    therapist, credential = pending_with_claim
    before = timezone.now()
    messages = run_action(moderator, PENDING_URL, "publish", pending_pair, verify_credentials="yes")
    assert messages == [
        "Published 2 of 2 selected profile(s). 1 IPT credential(s) marked verified by you. "
        "Each therapist with an email address was told."
    ]
    therapist.refresh_from_db(), credential.refresh_from_db()
    assert therapist.status == Therapist.Status.PUBLISHED
    assert credential.verified_by == moderator and credential.verified_at >= before
    assert therapist.training_level == Therapist.TrainingLevel.CERTIFIED


def test_the_service_refuses_to_publish_an_unverified_credential_without_a_verifier(pending_with_claim: tuple) -> None:
    therapist, _ = pending_with_claim
    with pytest.raises(ValidationError) as refused:
        profiles.publish_profile(therapist=therapist)
    assert "ipt_credentials" in refused.value.message_dict
    therapist.refresh_from_db()
    assert therapist.status == Therapist.Status.PENDING


# The dashboard at the top of the admin index


def test_the_admin_carries_the_products_name(moderator: User) -> None:
    page = signed_in(moderator).get("/admin/").content.decode()
    assert "IPT Directory administration" in page and "Django administration" not in page


def test_the_dashboard_counts_what_waits_and_links_to_each_list(
    moderator: User, pending_pair: list, listed_therapist: Therapist, django_assert_max_num_queries: object
) -> None:
    now = timezone.now()
    expiry = datetime.timedelta(days=settings.OFFER_EXPIRY_DAYS)
    before = {item.label: item.count for item in waiting_for_staff(now)}
    make_therapist(npi=valid_npi("199000301"), last_name="Waiting", status=Therapist.Status.PENDING)
    ListingReport.objects.create(therapist=listed_therapist, reason="unreachable")
    ListingReport.objects.create(therapist=listed_therapist, reason="other", resolved_at=now)
    Email.objects.create(to=["someone@example.org"], subject="Lost", status=Email.Status.FAILED)
    Therapist.objects.filter(pk=listed_therapist.pk).update(
        silenced_at=now, photo_pending="therapists/new.jpg", photo_pending_thumbnail="therapists/new-small.jpg"
    )
    referral = make_referral(moderator)
    expiring = Offer.objects.create(referral=referral, therapist=listed_therapist, score=1)
    Offer.objects.filter(pk=expiring.pk).update(created_at=now - expiry + datetime.timedelta(hours=2))
    fresh = Offer.objects.create(referral=referral, therapist=pending_pair[0], score=1)
    Offer.objects.filter(pk=fresh.pk).update(created_at=now - expiry + datetime.timedelta(hours=30))
    for hours in (2, 72):
        Consultation.objects.create(
            therapist=listed_therapist, sent_at=now, reply_by=now + datetime.timedelta(hours=hours)
        )

    with django_assert_max_num_queries(7):
        waiting = waiting_for_staff(now)
    counts = {item.label: item.count - before[item.label] for item in waiting}
    assert counts == {
        "Profiles waiting for review": 1,
        "Photos to approve": 1,
        "Open listing reports": 1,
        "Referral offers expiring within 24 hours": 1,
        "Consultation requests expiring within 24 hours": 1,
        "Emails that failed": 1,
        "Therapists silenced for unanswered requests": 1,
    }
    staff = signed_in(moderator)
    page = staff.get("/admin/").content.decode()
    for item in waiting:
        # The deadline in a link is the page's own "now": compare up to it.
        assert f'href="{escape(item.url.split("__lt=")[0])}' in page
        listed = staff.get(item.url)
        # Each link opens the admin list of exactly what was counted.
        assert listed.status_code == 200 and listed.context["cl"].result_count == item.count, item.label


def test_the_admin_index_costs_the_same_queries_whatever_waits(
    moderator: User, listed_therapist: Therapist, django_assert_num_queries: object
) -> None:
    staff = signed_in(moderator)
    staff.get("/admin/")
    with CaptureQueriesContext(connection) as few:
        staff.get("/admin/")
    for index in range(5):
        ListingReport.objects.create(therapist=listed_therapist, reason="unreachable")
        make_therapist(npi=valid_npi(f"19900020{index}"), last_name=f"Queue{index}", status=Therapist.Status.PENDING)
    with django_assert_num_queries(len(few.captured_queries)):
        staff.get("/admin/")


def make_referral(referrer: User) -> Referral:
    return Referral.objects.create(
        referrer=referrer, status=Referral.Status.OFFERED, postal_code="11215", latitude=40.67, longitude=-73.98,
        state="NY", place_label="Brooklyn, NY", patient_name="Pat Example",
        patient_birth_date=datetime.date(1990, 1, 1), consent_confirmed_at=timezone.now(),
    )  # fmt: skip


# Listing reports link to the listing and take a staff note


def test_a_report_links_to_the_listing_and_keeps_a_staff_note(moderator: User, listed_therapist: Therapist) -> None:
    report = ListingReport.objects.create(therapist=listed_therapist, reason="unreachable", details="No answer.")
    staff = signed_in(moderator)
    listing = staff.get(REPORTS_URL).content.decode()
    public = f'href="{listed_therapist.get_absolute_url()}" target="_blank" rel="noopener"'
    assert public in listing
    assert f'href="/admin/directory/therapist/{listed_therapist.pk}/change/"' in listing

    change_url = f"{REPORTS_URL}{report.pk}/change/"
    assert public in staff.get(change_url).content.decode()
    note = "Called the office on Dec 1: the number is right, voicemail was full."
    response = staff.post(change_url, {"staff_note": note})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.staff_note == note and report.details == "No answer."
    assert note in staff.get(REPORTS_URL).content.decode()
    assert staff.get(REPORTS_URL, {"q": "voicemail was full"}).context["cl"].result_count == 1


def test_a_report_on_an_unlisted_profile_says_so_instead_of_linking(moderator: User, pending_pair: list) -> None:
    ListingReport.objects.create(therapist=pending_pair[0], reason="other", details="Wrong address.")
    listing = signed_in(moderator).get(REPORTS_URL).content.decode()
    assert "not listed (pending review)" in listing
    assert f'href="{pending_pair[0].get_absolute_url()}"' not in listing


# NPI registry and licence numbers on each pending profile


def test_each_pending_profile_links_to_the_npi_registry_and_shows_its_licences(
    moderator: User, pending_pair: list
) -> None:
    therapist = pending_pair[0]
    LicensedState.objects.filter(therapist=therapist).update(license_number="LCSW-0042")
    registry = f'href="https://npiregistry.cms.hhs.gov/provider-view/{therapist.npi}" target="_blank" rel="noopener"'
    staff = signed_in(moderator)
    queue = staff.get(PENDING_URL).content.decode()
    assert registry in queue and "NY: LCSW-0042" in queue
    change = staff.get(f"{PENDING_URL}{therapist.pk}/change/").content.decode()
    assert registry in change and "New York (State licence): LCSW-0042" in change


def test_the_pending_queue_reads_the_same_number_of_queries_for_more_profiles(
    moderator: User, pending_pair: list, django_assert_num_queries: object
) -> None:
    staff = signed_in(moderator)
    staff.get(PENDING_URL)
    with CaptureQueriesContext(connection) as few:
        staff.get(PENDING_URL)
    for index in range(4):
        make_therapist(npi=valid_npi(f"19900040{index}"), last_name=f"More{index}", status=Therapist.Status.PENDING)
    with django_assert_num_queries(len(few.captured_queries)):
        staff.get(PENDING_URL)


def change_form_data(response: HttpResponse) -> dict:
    """What the admin's change page would post back unchanged: the form's and each inline's initial values."""
    data: dict = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{name}": value for name, value in formset.management_form.initial.items()})
        forms.extend(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            key = form.add_prefix(name)
            if isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, (list, tuple)):
                data[key] = [getattr(item, "pk", item) for item in value]
            elif isinstance(value, datetime.datetime):
                local = timezone.localtime(value)
                data[f"{key}_0"], data[f"{key}_1"] = local.date().isoformat(), local.time().isoformat()
            elif value is not None:
                data[key] = getattr(value, "pk", value)
    return data


def test_choosing_published_on_the_change_page_verifies_and_confirms_in_the_same_step(
    moderator: User, pending_with_claim: tuple, mailoutbox: list
) -> None:
    therapist, credential = pending_with_claim
    Therapist.objects.filter(pk=therapist.pk).update(availability_confirmed_at=None, email="pat@example.org")
    staff = signed_in(moderator)
    url = f"/admin/directory/therapist/{therapist.pk}/change/"
    data = {**change_form_data(staff.get(url)), "status": Therapist.Status.PUBLISHED}
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    therapist.refresh_from_db(), credential.refresh_from_db()
    assert therapist.status == Therapist.Status.PUBLISHED and therapist.availability_confirmed_at is not None
    assert credential.verified_by == moderator and credential.verified_at is not None
    assert "1 IPT credential(s) marked verified by you." in action_messages(response)
    assert [message.to for message in mailoutbox] == [["pat@example.org"]]


def test_a_website_staff_type_without_a_scheme_is_https(admin_client: Client, rf: object) -> None:
    request = rf.get("/admin/directory/therapist/add/")
    request.user = User.objects.get(is_superuser=True)
    form = admin.site._registry[Therapist].get_form(request)()
    assert form.fields["website"].clean("example.org") == "https://example.org"
