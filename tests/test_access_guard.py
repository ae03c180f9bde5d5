"""Access is decided in one place (`app/access.py`): no view, API route, service, query or template
compares a user's role, agency, id or territory itself.

The patterns below are how such a decision reads in this code base. A line that matches but is not
an access decision (a tab's scope inside an access clause, who is told of a change) says so with
the comment `# not an access rule: <why>`, so that a reviewer sees each exception where it stands.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHO = r"\b(actor|user|current_user)\.(role|agency_id|id|territory_id)\b"
PATTERNS = [
    re.compile(WHO + r"\s*(==|!=|\bin\b|\bnot in\b)"),
    re.compile(r"(==|!=)\s*" + WHO),
    re.compile(r"\bRole\.(ADMIN|MANAGER|PROFESSIONAL)\b"),
    re.compile(r"\bis_territory_steering_manager\("),
    re.compile(r"current_user\.role\b"),
]
EXEMPT = "not an access rule:"
# Where roles and agencies are defined, labelled, created or seeded — not where access is decided.
OUTSIDE = ("app/access.py", "app/accounts/", "app/demo/")


def _sources() -> list[Path]:
    return sorted([*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("templates").rglob("*.html")])


def offending_lines() -> list[str]:
    found = []
    for path in _sources():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(OUTSIDE):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if EXEMPT in line:
                continue
            if any(pattern.search(line) for pattern in PATTERNS):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_no_module_but_access_decides_who_may() -> None:
    offending = offending_lines()
    assert not offending, "access decided outside app/access.py:\n" + "\n".join(offending)


def test_the_guard_sees_a_decision_made_elsewhere(tmp_path: Path) -> None:
    """The guard itself can fail: each pattern catches the way such a decision is written."""
    samples = [
        "if barrier.owner_agency_id == current_user.agency_id:",
        "if user.role == Role.MANAGER:",
        "{% if current_user.role.value == 'manager' %}",
        "elif access.is_territory_steering_manager(user):",
        "if actor.id in (pathway.referent_id, author_id):",
    ]
    for sample in samples:
        assert any(pattern.search(sample) for pattern in PATTERNS), sample
