"""`tests.queries.assert_num_queries`: exact budgets, per dialect when they differ, SAVEPOINTs free."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.queries import assert_num_queries


def test_an_exact_budget_passes_and_lists_the_statements() -> None:
    with assert_num_queries(2) as counter:
        db.session.execute(sa.text("SELECT 1"))
        db.session.execute(sa.text("SELECT 2"))
    assert [s.strip() for s in counter.statements] == ["SELECT 1", "SELECT 2"]


def test_one_query_more_or_less_fails_and_says_which(dialect: str) -> None:
    with pytest.raises(AssertionError, match=r"2 queries, expected 1:\n1\. SELECT 1\n2\. SELECT 2"):
        with assert_num_queries(1):
            db.session.execute(sa.text("SELECT 1"))
            db.session.execute(sa.text("SELECT 2"))
    with pytest.raises(AssertionError, match="0 queries, expected 1"):
        with assert_num_queries(1):
            pass


def test_a_budget_per_dialect_and_savepoints_not_counted(dialect: str) -> None:
    with assert_num_queries({"sqlite": 1, "postgresql": 1}):
        with db.session.begin_nested():
            db.session.execute(sa.text("SELECT 1"))
