"""What every part of the demo generator shares: constants, the plan of a pathway, dates."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TypeVar

from app.demo import data
from app.pathways.search import KEY_LENGTH, normalise

UTC = UTC
T = TypeVar("T")

NEIGHBOUR_PEOPLE = 8
CASELOAD_TARGET = 35  # open pathways per referent the demo aims at

# Share of pathways led by each agency kind (when a referent is named).
LEAD_SHARES = {
    "france_travail": 34,
    "departmental_council": 32,
    "mission_locale": 12,
    "cap_emploi": 6,
    "ccas": 7,
    "association": 9,
}
MIN_REFERENTS = {"france_travail": 2, "departmental_council": 2}
# Who opens a pathway before any referent is named.
CREATING_SHARES = {"departmental_council": 55, "france_travail": 25, "ccas": 12, "mission_locale": 8}
# Which partners usually join the team, by lead agency kind.
PARTNER_SHARES = {
    "departmental_council": {"caf": 35, "france_travail": 25, "ccas": 15, "association": 15, "cap_emploi": 5,
                             "mission_locale": 5},
    "france_travail": {"departmental_council": 30, "caf": 25, "association": 20, "cap_emploi": 10,
                       "ccas": 15},
    "mission_locale": {"france_travail": 30, "caf": 25, "association": 25, "ccas": 20},
    "cap_emploi": {"france_travail": 40, "caf": 25, "departmental_council": 20, "ccas": 15},
    "ccas": {"departmental_council": 35, "caf": 35, "association": 30},
    "association": {"departmental_council": 40, "caf": 25, "france_travail": 20, "ccas": 15},
}
CONTRACT_KIND = {
    "departmental_council": "cer",
    "ccas": "cer",
    "association": "cer",
    "france_travail": "ppae",
    "cap_emploi": "ppae",
}

SCENARIOS = ["intake_new", "intake_no_referent", "intake_late", "diagnosis", "support", "employed",
             "closed", "closed_then_open"]
SCENARIO_WEIGHTS = [6, 3, 3, 8, 50, 12, 10, 8]
CLOSURE_REASONS = ["employment_sustained", "training", "moved_away", "rights_ended", "no_contact",
                   "person_request", "other", "deceased"]
CLOSURE_WEIGHTS = [30, 12, 10, 14, 14, 8, 10, 2]
CATEGORIES = list(data.BARRIER_TITLES)
DECLINE_REASONS = ["not_in_scope", "no_capacity", "already_followed", "conditions_not_met",
                   "person_unreachable", "other"]
EMPLOYMENT_TYPES = ["cdi", "cdd", "interim", "iae", "apprenticeship", "self_employed", "other"]
EMPLOYMENT_WEIGHTS = [20, 35, 20, 15, 4, 3, 3]
SLOTS = [time(h, m) for h in range(9, 17) for m in (0, 30) if (h, m) != (12, 30)]


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    last_day = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31,
                31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(day.day, last_day))


_NORMALISED: dict[str, str] = {}


def normalised(text: str | None) -> str:
    """`normalise`, memoised: names repeat (Faker draws from lists), and `anyascii` + regex are slow."""
    if not text:
        return ""
    value = _NORMALISED.get(text)
    if value is None:
        if len(_NORMALISED) > 100_000:
            _NORMALISED.clear()
        value = _NORMALISED[text] = normalise(text)
    return value


def demo_search_key(last_name: str, first_name: str, birth_name: str | None) -> str:
    """`app.pathways.search.search_key`, with the memoised `normalised` (tests/demo compares both)."""
    return " ".join(part for part in (normalised(last_name), normalised(first_name), normalised(birth_name))
                    if part)[:KEY_LENGTH]


def slug(text: str) -> str:
    return normalised(text).replace(" ", "-")


@dataclass
class TerritoryContext:
    territory_id: int
    agency_by_kind: dict[str, int]
    kind_by_agency: dict[int, str]
    referents: dict[str, list[int]]  # lead agency kind → users who can be referents
    users_by_agency: dict[int, list[int]]  # professionals (authors, partners answering)
    manager_by_agency: dict[int, int]
    cities: list[tuple[str, str]]
    cadence: dict[str | None, int]
    checkin_months: list[int]
    lead_kinds: list[str] = field(default_factory=list)
    lead_weights: list[int] = field(default_factory=list)
    creating_kinds: list[str] = field(default_factory=list)
    creating_weights: list[int] = field(default_factory=list)


@dataclass
class Plan:
    """What one pathway will look like; days are counted back from today (0 = today)."""

    scenario: str
    lead_kind: str
    stage: str
    start_day: int
    referent: int | None = None
    orientation: str | None = None
    oriented_day: int | None = None
    assign_day: int | None = None
    closed_day: int | None = None
    closure_reason: str | None = None
    employment_day: int | None = None
    checkins_done: bool = False  # every post-employment check-in held


def agency_label(kind: str) -> str:
    return {
        "departmental_council": "le conseil départemental",
        "france_travail": "France Travail",
        "mission_locale": "la mission locale",
        "cap_emploi": "Cap emploi",
        "ccas": "le CCAS",
        "association": "l'association Tremplin",
        "caf": "la CAF",
    }[kind]


def parse_now(value: str | None) -> datetime:
    """`--now`: ISO 8601 (naive means UTC) or None for the current time, to the second."""
    if not value:
        return datetime.now(UTC).replace(microsecond=0)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
