"""The demo referral that `make fuzz` offers to therapist1, so the offer operations meet a real offer."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.services import ensure_demo_accounts
from directory import profiles
from directory.demo import DEMO_ACCOUNT_PROFILES, make_npi
from directory.models import Therapist
from matching import services
from matching.demo import offer_demo_referral
from matching.models import Offer, Referral
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_accounts() -> None:
    npis = {username: make_npi(number) for username, number in DEMO_ACCOUNT_PROFILES.items()}
    ensure_demo_accounts(password="correct-horse-battery", therapist_npis=npis)


def test_the_command_offers_a_referral_from_referrer1_to_therapist1(demo_accounts: None) -> None:
    output = StringIO()
    call_command("offer_demo_referral", stdout=output)
    offer = Offer.objects.select_related("referral__referrer").get(therapist__user__username="therapist1")
    assert (offer.status, offer.referral.status) == ("open", "offered")
    assert offer.referral.referrer.username == "referrer1"
    assert offer.referral.matches.filter(therapist=offer.therapist).exists()
    assert f"Offer {offer.pk}:" in output.getvalue()


def test_a_therapist_who_is_not_accepting_cannot_get_a_demo_referral(demo_accounts: None) -> None:
    therapist = profiles.update_profile(
        therapist=Therapist.objects.get(user__username="therapist2"),
        fields={"accepts_new_clients": False, "capacity": 0},
    )
    with pytest.raises(services.ReferralInvalid):
        offer_demo_referral(referrer=make_user("dr_demo", "referrers"), therapist=therapist)
    assert not Referral.objects.exists()
