"""Paris time and French dates (app.core.timefmt): one test per formatter."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from app.core import timefmt
from app.core.timefmt import (
    PARIS,
    age,
    full_date,
    input_datetime,
    long_date,
    long_datetime,
    paris_date,
    paris_today,
    short_date,
    short_datetime,
    to_paris,
)

END_OF_TIME = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)  # no Paris time: one hour past year 9999


def test_to_paris_shifts_utc_by_the_offset_of_the_day() -> None:
    assert to_paris(datetime(2026, 3, 12, 13, 30, tzinfo=UTC)) == datetime(2026, 3, 12, 14, 30, tzinfo=PARIS)
    assert to_paris(datetime(2026, 7, 14, 8, 5, tzinfo=UTC)).hour == 10  # summer time, UTC+2
    assert to_paris(datetime(2026, 3, 12, 13, 30)).hour == 14  # naive: taken as UTC
    assert to_paris(datetime(2026, 3, 12, 14, 30, tzinfo=timezone(timedelta(hours=1)))).hour == 14


def test_to_paris_does_not_overflow_at_the_end_of_time() -> None:
    assert to_paris(END_OF_TIME) == END_OF_TIME  # shown on the UTC wall clock, no OverflowError


def test_paris_date_is_the_paris_day() -> None:
    assert paris_date(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == date(2026, 1, 1)
    assert paris_date(date(2026, 4, 1)) == date(2026, 4, 1)  # a day is never shifted
    assert paris_date(None) is None


def test_paris_today() -> None:
    assert paris_today(datetime(2026, 3, 2, 23, 30, tzinfo=UTC)) == date(2026, 3, 3)  # 00:30 in Paris
    assert paris_today(datetime(2026, 3, 2, 22, 30, tzinfo=UTC)) == date(2026, 3, 2)
    assert paris_today() == datetime.now(PARIS).date()


def test_age_counts_full_years() -> None:
    assert age(date(1985, 4, 12), today=date(2026, 4, 11)) == 40
    assert age(date(1985, 4, 12), today=date(2026, 4, 12)) == 41
    assert age(None) is None
    assert isinstance(age(date(2000, 1, 1)), int)


def test_long_date_writes_the_first_of_the_month_as_an_ordinal() -> None:
    assert long_date(date(2026, 4, 1)) == "1er avril 2026"
    assert long_date(date(2026, 4, 2)) == "2 avril 2026"
    assert long_date(date(2026, 3, 12)) == "12 mars 2026"
    assert long_date(date(2026, 8, 1)) == "1er août 2026"
    assert long_date(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == "1er janvier 2026"  # the Paris day
    assert long_date(None) == ""


def test_full_date_adds_the_weekday() -> None:
    assert full_date(date(2026, 4, 1)) == "mercredi 1er avril 2026"
    assert full_date(datetime(2026, 3, 2, 6, 30, tzinfo=UTC)) == "lundi 2 mars 2026"
    assert full_date(None) == ""


def test_long_datetime_is_paris_time() -> None:
    assert long_datetime(datetime(2026, 3, 12, 13, 30, tzinfo=UTC)) == "12 mars 2026 à 14:30"  # UTC+1
    assert long_datetime(datetime(2026, 7, 14, 8, 5, tzinfo=UTC)) == "14 juillet 2026 à 10:05"  # UTC+2
    assert long_datetime(datetime(2026, 4, 1, 12, 30, tzinfo=UTC)) == "1er avril 2026 à 14:30"
    # 23:30 UTC on 31 December is already New Year's Day in Paris.
    assert long_datetime(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == "1er janvier 2026 à 00:30"
    assert "9999" in long_datetime(END_OF_TIME)
    assert long_datetime(None) == ""


def test_short_date() -> None:
    assert short_date(date(2026, 3, 12)) == "12/03/2026"
    assert short_date(date(2026, 4, 1)) == "01/04/2026"
    assert short_date(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == "01/01/2026"
    assert short_date(None) == ""


def test_short_datetime_is_the_csv_format_in_paris_time() -> None:
    assert short_datetime(datetime(2026, 3, 12, 13, 30, tzinfo=UTC)) == "12/03/2026 14:30"
    assert short_datetime(datetime(2025, 12, 31, 23, 5, tzinfo=UTC)) == "01/01/2026 00:05"
    assert short_datetime(END_OF_TIME) == "31/12/9999 23:30"
    assert short_datetime(None) == ""


def test_input_datetime_is_the_paris_wall_clock() -> None:
    assert input_datetime(datetime(2026, 7, 14, 8, 5, tzinfo=UTC)) == "2026-07-14T10:05"
    assert input_datetime(None) == ""


def test_the_zone_is_named_in_one_module_only() -> None:
    """Everything else takes Paris time from app.core.timefmt (config.py has no TIMEZONE)."""
    root = Path(__file__).resolve().parents[2]
    named = sorted(
        path.relative_to(root).as_posix()
        for path in [*root.joinpath("app").rglob("*.py"), root / "config.py"]
        if timefmt.ZONE_NAME in path.read_text(encoding="utf-8")
    )
    assert named == ["app/core/timefmt.py"]


def test_the_time_module_imports_no_feature_and_no_model() -> None:
    source = Path(timefmt.__file__).read_text(encoding="utf-8")
    assert "from app" not in source and "import app" not in source
