"""Invitations: an imported therapist claims their profile through an expiring, single-use emailed link."""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone

from directory.models import Therapist
from outbox.models import Email
from roster import invitations
from roster.models import Invitation
from tests.conftest import make_therapist, make_user, signed_in, valid_npi

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported_therapist() -> Therapist:
    """Ines, imported from a roster: a published profile with an email address and no account."""
    return make_therapist(npi=valid_npi("199100001"), first_name="Ines", last_name="Imported", email="ines@example.org")


def invitation_path(message: mail.EmailMessage) -> str:
    link = re.search(r"https?://\S+/roster/claim/\S+/", message.body)
    assert link, message.body
    return "/roster/" + link.group(0).split("/roster/", 1)[1]


def claim(client: Client, path: str, **fields: str) -> object:
    data = {"username": "ines", "password1": "quiet-lantern-harbor", "password2": "quiet-lantern-harbor"}
    return client.post(path, {**data, **fields})


def test_invitation_email_holds_a_link_that_claims_the_profile_and_signs_the_therapist_in(
    imported_therapist: Therapist,
) -> None:
    assert invitations.send_invitation(therapist=imported_therapist, now=timezone.now()) is True

    [message] = mail.outbox
    assert message.to == ["ines@example.org"]
    assert "Claim your profile" in message.subject
    assert "The link works once" in message.body
    assert Invitation.objects.get(therapist=imported_therapist).email == "ines@example.org"
    client = Client()
    page = client.get(invitation_path(message))
    assert page.status_code == 200
    assert "Ines Imported" in page.content.decode()

    response = claim(client, invitation_path(message))

    assert response.status_code == 302 and response["Location"] == "/me/profile/"
    imported_therapist.refresh_from_db()
    user = User.objects.get(username="ines")
    assert imported_therapist.user == user
    assert user.email == "ines@example.org" and user.groups.filter(name="therapists").exists()
    assert user.check_password("quiet-lantern-harbor")
    assert client.get("/me/profile/").status_code == 200  # signed in, as the profile's owner


def test_sending_queues_the_email_in_the_outbox(imported_therapist: Therapist, settings: object) -> None:
    settings.EMAIL_BACKEND = "outbox.backends.QueuedEmailBackend"
    invitations.send_invitation(therapist=imported_therapist, now=timezone.now())
    queued = Email.objects.get(to=["ines@example.org"])
    assert "/roster/claim/" in queued.body


def test_an_expired_link_says_so_and_what_to_do(imported_therapist: Therapist, settings: object) -> None:
    settings.INVITATION_DAYS = 14
    sent_at = timezone.now() - datetime.timedelta(days=14, minutes=1)
    path = "/roster/claim/" + invitations.make_token(therapist=imported_therapist, now=sent_at) + "/"

    page = Client().get(path)
    posted = claim(Client(), path)

    assert page.status_code == 410 and posted.status_code == 410
    text = page.content.decode()
    assert "This invitation link no longer works" in text and "has expired" in text
    assert "ask for a new invitation" in text
    assert not User.objects.filter(username="ines").exists()


def test_a_link_one_day_before_expiry_still_works(imported_therapist: Therapist) -> None:
    sent_at = timezone.now() - datetime.timedelta(days=13)
    path = "/roster/claim/" + invitations.make_token(therapist=imported_therapist, now=sent_at) + "/"
    assert Client().get(path).status_code == 200


def test_a_tampered_link_is_refused_with_a_plain_page(imported_therapist: Therapist, moderator: User) -> None:
    token = invitations.make_token(therapist=imported_therapist, now=timezone.now())
    other = make_therapist(npi=valid_npi("199100002"), first_name="Otto", last_name="Other", email="otto@example.org")
    forged = str(other.public_id) + token[len(str(imported_therapist.public_id)) :]

    for bad in (forged, token[:-2], "not-a-token"):
        page = Client().get(f"/roster/claim/{bad}/")
        assert page.status_code == 400
        assert "The link is incomplete or has been changed" in page.content.decode()
    assert claim(Client(), f"/roster/claim/{forged}/").status_code == 400
    assert Therapist.objects.get(pk=other.pk).user is None


def test_a_link_works_once(imported_therapist: Therapist) -> None:
    invitations.send_invitation(therapist=imported_therapist, now=timezone.now())
    path = invitation_path(mail.outbox[0])
    claim(Client(), path)

    page = Client().get(path)
    again = claim(Client(), path, username="someone-else")

    assert page.status_code == 410 and "claimed already" in page.content.decode()
    assert again.status_code == 410
    assert not User.objects.filter(username="someone-else").exists()
    assert User.objects.get(therapist_profile=imported_therapist).username == "ines"


def test_password_problems_are_shown_by_field_and_nothing_is_created(imported_therapist: Therapist) -> None:
    path = "/roster/claim/" + invitations.make_token(therapist=imported_therapist, now=timezone.now()) + "/"
    make_user("taken")

    short = claim(Client(), path, password1="short", password2="short")
    mismatch = claim(Client(), path, password2="another-lantern-harbor")
    taken = claim(Client(), path, username="taken")
    like_name = claim(Client(), path, password1="ines@example.org", password2="ines@example.org")

    assert short.status_code == mismatch.status_code == taken.status_code == like_name.status_code == 400
    assert "This password is too short" in short.content.decode()
    assert 'href="#id_password2"' in mismatch.content.decode()
    assert "The two password fields didn" in mismatch.content.decode()
    assert 'href="#id_username"' in taken.content.decode()
    assert "too similar" in like_name.content.decode()
    assert Therapist.objects.get(pk=imported_therapist.pk).user is None
    assert not User.objects.filter(username="ines").exists()


def test_claim_page_has_a_heading_labels_and_plain_password_rules(imported_therapist: Therapist) -> None:
    path = "/roster/claim/" + invitations.make_token(therapist=imported_therapist, now=timezone.now()) + "/"
    text = Client().get(path).content.decode()

    assert "<h1>Claim your profile</h1>" in text
    for name in ("username", "password1", "password2"):
        assert f'<label for="id_{name}"' in text
    assert "At least 8 characters" in text
    assert "autofocus" not in text


def test_nothing_is_sent_to_a_therapist_without_email_or_with_an_account(imported_therapist: Therapist) -> None:
    no_email = make_therapist(npi=valid_npi("199100003"), first_name="Noe", last_name="Mail")
    imported_therapist.user = make_user("ines-already")
    imported_therapist.save(update_fields=["user"])

    assert invitations.send_invitation(therapist=no_email, now=timezone.now()) is False
    assert invitations.send_invitation(therapist=imported_therapist, now=timezone.now()) is False
    assert mail.outbox == [] and not Invitation.objects.exists()


def invite_in_admin(client: Client, therapists: list[Therapist]) -> object:
    return client.post(
        "/admin/directory/therapist/",
        {"action": "send_invitations", "_selected_action": [therapist.pk for therapist in therapists]},
        follow=True,
    )


def test_admin_action_counts_what_it_sent_and_what_it_skipped(
    imported_therapist: Therapist, moderator: User, listed_therapist: Therapist
) -> None:
    no_email = make_therapist(npi=valid_npi("199100003"), first_name="Noe", last_name="Mail")

    response = invite_in_admin(signed_in(moderator), [imported_therapist, no_email, listed_therapist])

    assert response.status_code == 200
    text = response.content.decode()
    assert "Sent 1 invitation(s). Skipped 1 without an email address and 1 already claimed." in text
    assert [message.to for message in mail.outbox] == [["ines@example.org"]]
    assert Invitation.objects.get().sent_by == moderator


def test_admin_action_is_staff_only(imported_therapist: Therapist, therapist_user: User) -> None:
    response = invite_in_admin(signed_in(therapist_user), [imported_therapist])
    assert "/admin/login/" in response.redirect_chain[0][0]
    assert mail.outbox == []


def test_admin_action_queries_grow_only_by_the_writes_of_each_email(
    moderator: User, django_assert_max_num_queries: object
) -> None:
    therapists = [
        make_therapist(npi=valid_npi(f"19920000{index}"), last_name=f"Roster{index}", email=f"r{index}@example.org")
        for index in range(10)
    ]
    client = signed_in(moderator)
    # Per therapist, only writes: its savepoint, the invitation log row and the release (the outbox's rows in
    # production; the locmem backend writes none). No reads per row; the rest is the changelist page.
    with django_assert_max_num_queries(25 + 3 * len(therapists)):
        response = invite_in_admin(client, therapists)
    assert "Sent 10 invitation(s)." in response.content.decode()


@pytest.mark.parametrize("value", ["two weeks", "0"])
def test_a_malformed_invitation_days_stops_start_up(value: str) -> None:
    environment = {**os.environ, "INVITATION_DAYS": value, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=environment, capture_output=True, text=True, cwd=settings.BASE_DIR,
    )  # fmt: skip
    assert result.returncode != 0 and "INVITATION_DAYS must be" in result.stderr


def test_staff_find_the_unclaimed_profiles_to_invite(
    imported_therapist: Therapist, listed_therapist: Therapist, moderator: User
) -> None:
    client = signed_in(moderator)
    unclaimed = client.get("/admin/directory/therapist/", {"account": "none", "q": "Imported"}).content.decode()
    claimed = client.get("/admin/directory/therapist/", {"account": "yes", "q": "Listed"}).content.decode()

    assert "Ines Imported" in unclaimed
    assert "Lena Listed" in claimed
    assert (
        "Lena Listed"
        not in client.get("/admin/directory/therapist/", {"account": "none", "q": "Listed"}).content.decode()
    )
