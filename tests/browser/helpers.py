"""Small steps the journeys share: checking a page with axe, signing in, moving by keyboard."""

from __future__ import annotations

import re

from tests.browser.axe import serious_violations

PASSWORD_LABEL = re.compile(r"^Password:?$")


def assert_accessible(page: object) -> None:
    """No serious or critical axe-core finding, and no sideways scrolling (WCAG 1.4.10, reflow)."""
    findings = serious_violations(page)
    assert findings == [], f"{page.url}: {findings}"
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url}: {widths[0]}px of content in a {widths[1]}px window"


def found_count(page: object) -> int:
    """The number in the search page's "N therapists found" heading."""
    heading = page.get_by_role("heading", level=2, name="found")
    return int(heading.inner_text().split()[0])


def sign_in(page: object, url: str, username: str, password: str) -> None:
    """Through the real sign-in form, with the mouse; the page is checked before and after errors."""
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label(PASSWORD_LABEL).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda address: "/accounts/login/" not in address)


def is_focused(locator: object) -> bool:
    return locator.evaluate("element => element === document.activeElement")


def skip_to_main(page: object) -> None:
    """From the top of a freshly loaded page: Tab to the skip link and follow it."""
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'main'")


def tab_to(page: object, locator: object, most: int = 60) -> None:
    """Press Tab until `locator` has the focus: it must be reachable, forward, within `most` presses."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if is_focused(locator):
            return
    raise AssertionError(f"{locator} not reached within {most} presses of Tab")
