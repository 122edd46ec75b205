"""Accessibility checks with axe-core (from the npm registry, installed by `make test`)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}


def serious_violations(page: object) -> list[str]:
    """Inject axe-core into the page and list its serious and critical findings, readably."""
    # Evaluated rather than added as a <script>: the site's Content-Security-Policy refuses inline scripts.
    page.evaluate(AXE_SCRIPT.read_text())
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
