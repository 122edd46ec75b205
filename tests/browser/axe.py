"""Accessibility checks with axe-core (from the npm registry, installed by `make test`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings

AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}


@cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text()


def serious_violations(page: object) -> list[str]:
    """Run axe-core on the page and list its serious and critical findings, readably.

    The script is evaluated through the DevTools protocol rather than added as a
    <script> tag: the site's Content-Security-Policy (script-src 'self') rightly
    refuses inline scripts, and the tests keep that policy on.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"][0]) for node in violation["nodes"][:3])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
