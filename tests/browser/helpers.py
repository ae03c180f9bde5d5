"""Helpers for browser tests (Playwright, sync API). Imported by tests/browser/conftest.py."""
from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

BLOCKING_IMPACTS = ("serious", "critical")

_axe = Axe()


def login(page: Any, email: str, password: str, *, expect_success: bool = True) -> None:
    """Log in through the login form, as a person would (the page's base URL is the live server)."""
    page.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.locator("#champ-password").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    if expect_success:
        assert "/connexion" not in page.url, f"login failed for {email}: still on {page.url}"


def logout(page: Any) -> None:
    page.get_by_role("button", name="Se déconnecter").first.click()
    page.wait_for_url("**/connexion")


def axe_violations(page: Any, impacts: tuple[str, ...] = BLOCKING_IMPACTS) -> list[dict[str, Any]]:
    results = _axe.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in impacts]


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation.get("nodes", [])[:5]:
            target = ", ".join(map(str, node.get("target", [])))
            lines.append(f"    {target}: {node.get('failureSummary', '')}")
    return "\n".join(lines)


def assert_accessible(page: Any, impacts: tuple[str, ...] = BLOCKING_IMPACTS) -> None:
    """axe-core finds no violation of the given impacts on the current page (printed if any)."""
    violations = axe_violations(page, impacts)
    if violations:
        report = format_violations(violations)
        print(f"Accessibility violations on {page.url}:\n{report}")
        raise AssertionError(f"{len(violations)} accessibility violation(s) on {page.url}:\n{report}")
