"""Headless Chromium (Debian's package) driven by Playwright, against the live server.

Skipped, with the reason printed, where no Chromium is installed; `.ci/run`
installs it. A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import serializers
from django.core.management import call_command
from django.utils import timezone

from directory import search
from directory.models import Credential, LicensedState, Office, Therapist, TherapistInsurer
from directory.services import load_directory
from tests.conftest import DEMO_RECORDS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
DEMO_MODELS = (Therapist, Office, LicensedState, TherapistInsurer, Credential)
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make here (set-up, checks) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.browser_failed = report.failed


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: object) -> Iterator[object]:
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    if getattr(request.node, "browser_failed", False):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def other_page(request: pytest.FixtureRequest, page: object) -> Iterator[object]:
    """A second person, in a browser context of their own, on the same viewport as `page`."""
    context = page.context.browser.new_context(viewport=page.viewport_size)
    context.set_default_timeout(10_000)
    other_page = context.new_page()
    yield other_page
    if getattr(request.node, "browser_failed", False):
        ARTIFACTS.mkdir(exist_ok=True)
        other_page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-other.png"), full_page=True)
    context.close()


@pytest.fixture
def directory_data(transactional_db: None, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Reference data and the first 120 demo therapists, the same set in every test.

    Transactional tests start empty, except the first one to run, which still sees
    the session's full demo directory: clear it so that counts don't depend on order.
    The first load goes through `load_directory` (about 4 s); its rows are then
    saved once per session and reloaded with `loaddata` (under 1 s) by the next tests.
    """
    Therapist.objects.all().delete()
    for name in ("therapists", "referrers"):
        Group.objects.get_or_create(name=name)
    call_command("loaddata", "reference", verbosity=0)
    snapshot = tmp_path_factory.getbasetemp() / "demo_directory_120.json"
    if snapshot.exists():
        call_command("loaddata", str(snapshot), verbosity=0)
        # What search reads is derived data, rebuilt as after any restore (`manage.py refresh_listings`).
        search.refresh(Therapist.objects.values_list("pk", flat=True))
        return
    load_directory(DEMO_RECORDS[:120], now=timezone.now())
    rows = [row for model in DEMO_MODELS for row in model.objects.order_by("pk")]
    snapshot.write_text(serializers.serialize("json", rows))
