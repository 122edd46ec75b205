"""`manage.py invite_therapists`: the invitations of the admin action, from the command line."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from directory.models import Therapist
from roster.models import Invitation
from tests.conftest import make_therapist, make_user, valid_npi

pytestmark = pytest.mark.django_db


def invite(*args: str) -> str:
    out = io.StringIO()
    call_command("invite_therapists", *args, stdout=out)
    return out.getvalue()


def test_invites_the_therapists_named_by_npi_and_counts_the_skipped() -> None:
    ines = make_therapist(npi=valid_npi("199300001"), first_name="Ines", email="ines@example.org")
    noe = make_therapist(npi=valid_npi("199300002"), first_name="Noe")
    claimed = make_therapist(npi=valid_npi("199300003"), first_name="Cara", email="cara@example.org")
    claimed.user = make_user("cara")
    claimed.save(update_fields=["user"])

    output = invite("--npi", ines.npi, noe.npi, claimed.npi)

    assert output.strip() == "Sent 1 invitation(s); skipped 1 without an email address and 1 already claimed."
    assert [message.to for message in mail.outbox] == [["ines@example.org"]]


def test_all_unclaimed_invites_every_profile_without_an_account_that_has_an_email() -> None:
    expected = Therapist.objects.filter(user=None).exclude(email="").count()
    output = invite("--all-unclaimed")
    assert output.startswith(f"Sent {expected} invitation(s)")
    assert Invitation.objects.count() == len(mail.outbox) == expected


def test_an_unknown_npi_sends_nothing() -> None:
    ines = make_therapist(npi=valid_npi("199300001"), email="ines@example.org")
    with pytest.raises(CommandError, match="No therapist has NPI 1234567893"):
        invite("--npi", ines.npi, "1234567893")
    assert mail.outbox == []
