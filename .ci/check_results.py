"""Fail CI when the PostgreSQL run or the browser tests did not really happen."""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

RESULTS = Path("test-results")


def load(name: str) -> ET.Element:
    path = RESULTS / f"{name}.xml"
    if not path.exists():
        sys.exit(f"FAIL: {path} is missing: the {name} run did not happen")
    return ET.parse(path).getroot()


def cases(root: ET.Element) -> list[ET.Element]:
    return list(root.iter("testcase"))


def main() -> None:
    problems = []
    for name in ("sqlite", "postgresql"):
        root = load(name)
        all_cases = cases(root)
        failed = [c for c in all_cases if c.find("failure") is not None or c.find("error") is not None]
        if len(all_cases) < 50:
            problems.append(f"{name}: only {len(all_cases)} tests ran")
        if failed:
            problems.append(f"{name}: {len(failed)} tests failed")
        print(f"{name}: {len(all_cases)} tests, {len(failed)} failed, "
              f"{sum(c.find('skipped') is not None for c in all_cases)} skipped")
    browser = [c for c in cases(load("sqlite")) if "tests.browser" in c.get("classname", "")]
    skipped = [c for c in browser if c.find("skipped") is not None]
    if not browser:
        problems.append("no browser test ran")
    if skipped:
        problems.append(f"{len(skipped)} browser tests were skipped")
    print(f"browser: {len(browser)} tests, {len(skipped)} skipped")
    postgres_only = [c for c in cases(load("postgresql")) if c.find("skipped") is not None
                     and "PostgreSQL" in (c.find("skipped").get("message") or "")]
    if postgres_only:
        problems.append(f"{len(postgres_only)} PostgreSQL-only tests were skipped on PostgreSQL")
    if problems:
        sys.exit("FAIL: " + "; ".join(problems))
    print("OK: SQLite and PostgreSQL runs complete, browser tests ran.")


if __name__ == "__main__":
    main()
