"""accounts.decorators on the pages: the login page for nobody, a 403 page for the wrong role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from accounts.decorators import referrer_required, therapist_required
from directory.models import Therapist
from tests.accounts.conftest import PERSONAS
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

# The persona each page lets in.
PAGES = {
    "/me/profile/": "therapist_user",
    "/me/inbox/": "therapist_user",
    "/referrals/": "referrer",
    "/referrals/new/": "referrer",
}
THERAPIST_POSTS = ["/me/profile/submit/", "/me/availability/confirm/", "/me/offers/1/accept/"]
REFERRER_POSTS = ["/referrals/00000000-0000-4000-8000-000000000000/withdraw/"]


@pytest.mark.parametrize("url", list(PAGES))
@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_each_page_admits_its_role_only(request: pytest.FixtureRequest, persona: User | None, url: str) -> None:
    name = request.node.callspec.params["persona"]
    response = (Client() if persona is None else signed_in(persona)).get(url)
    if name == "anonymous":
        assert response.status_code == 302 and response.url == f"/accounts/login/?next={url}"
    elif name == PAGES[url]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "This page is not for your account" in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "urls"),
    [
        ("therapist_without_profile", THERAPIST_POSTS + REFERRER_POSTS),
        ("moderator", THERAPIST_POSTS + REFERRER_POSTS),
        ("referrer", THERAPIST_POSTS),
        ("therapist_user", REFERRER_POSTS),
    ],
    indirect=["persona"],
)
def test_forms_refuse_everyone_but_their_role(persona: User, urls: list[str]) -> None:
    for url in urls:
        assert signed_in(persona).post(url).status_code == 403, url
        assert Client().post(url).status_code == 302, url


def echo_profile(request: HttpRequest, therapist: Therapist, number: int) -> HttpResponse:
    return HttpResponse(f"{therapist.pk}:{number}")


def test_therapist_required_passes_the_own_profile_before_the_url_arguments(
    therapist_user: User, accepting_therapist: Therapist
) -> None:
    request = RequestFactory().get("/anything/")
    request.user = therapist_user
    assert therapist_required(echo_profile)(request, number=7).content == f"{accepting_therapist.pk}:7".encode()


def test_referrer_required_leaves_the_arguments_alone(referrer: User) -> None:
    request = RequestFactory().get("/anything/?x=1")
    request.user = referrer
    assert referrer_required(lambda request, number: HttpResponse(str(number)))(request, number=3).content == b"3"
    request.user = AnonymousUser()
    response = referrer_required(lambda request, number: HttpResponse(str(number)))(request, number=3)
    assert response.status_code == 302 and response.url == "/accounts/login/?next=/anything/%3Fx%3D1"
