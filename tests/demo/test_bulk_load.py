"""Large demo loads on PostgreSQL: foreign keys and secondary indexes rebuilt once, inside the seeding.

`seed-demo --people 20000` and more drop the foreign keys and secondary indexes of the demo tables
and rebuild them at the end of the same transaction (app/demo/bulk.py `BulkWriter.defer_checks`).
These tests force that path on the small golden data set: the rows are the recorded ones, every
index and constraint is back unchanged, a bad row is still refused, and a failure restores all.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

import app.demo.generator.seeder as seeder_module
from app.accounts.models import Territory
from app.demo.bulk import BulkWriter
from app.extensions import db
from app.followup import steering, summary
from app.pathways.models import Beneficiary
from tests.db_helpers import count_rows
from tests.demo.test_seed_demo import ARGS, GOLDEN_CHECKSUM, GOLDEN_COUNTS, _checksum

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_and_deferred(dialect, monkeypatch):
    if dialect != "postgresql":
        pytest.skip("the deferred checks exist on PostgreSQL only")
    monkeypatch.setattr(seeder_module, "DEFERRED_CHECKS_FROM", 0)


def _schema() -> set[tuple[str, str]]:
    rows = db.session.execute(sa.text(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid::regclass::text NOT LIKE 'pg_%' "
        "UNION ALL SELECT conname || ' ON ' || conrelid::regclass::text, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
        # Triggers with their state ('O': enabled): the load disables the steering triggers.
        "UNION ALL SELECT tgname || ' ON ' || tgrelid::regclass::text, tgenabled::text "
        "FROM pg_trigger WHERE NOT tgisinternal"
    )).all()
    return {(name, definition) for name, definition in rows}


def test_a_deferred_load_writes_the_recorded_rows_and_restores_every_index_and_key(runner):
    before = _schema()
    assert any("FOREIGN KEY" in definition for _, definition in before)
    result = runner.invoke(args=ARGS)
    assert result.exit_code == 0, result.output
    counts, checksum = _checksum()
    assert counts == GOLDEN_COUNTS
    assert checksum == GOLDEN_CHECKSUM
    after = _schema()
    assert after == before
    assert {name for name, state in after if name.startswith("steering_") and state == "O"} >= {
        f"{trigger} ON {table}" for table, names in steering.POSTGRESQL_TRIGGERS.items() for trigger in names
    }
    # With the triggers off during the load, the counters are after_bulk_load's recount: exact.
    assert steering.check_counters(db.session.connection()) == []
    # The follow-up summaries were written by the generator with the rows: equal to a recount.
    assert summary.drift(db.session.connection()) == []


def test_a_row_breaking_a_foreign_key_is_still_refused(runner, monkeypatch):
    original = BulkWriter.finish

    def finish_with_a_bad_meeting(self):
        row = list(self.buffers["meeting"][-1] if self.buffers["meeting"] else ())
        assert row, "the last chunk has meetings"
        row[0] = self.new_id("meeting")
        row[2] = 10**9  # pathway_id: no such pathway
        self.add("meeting", tuple(row))
        original(self)

    monkeypatch.setattr(BulkWriter, "finish", finish_with_a_bad_meeting)
    before = _schema()
    result = runner.invoke(args=ARGS)
    assert result.exit_code != 0
    assert "fk_meeting_pathway_id_pathway" in result.output
    assert count_rows(Territory, Territory.code.in_(["98", "99"])) == 0
    assert _schema() == before


def test_a_failure_during_a_deferred_load_restores_the_schema(runner, monkeypatch):
    calls = {"n": 0}
    original = seeder_module.DemoSeeder._person

    def failing(self, ctx):
        calls["n"] += 1
        if calls["n"] == 30:
            raise RuntimeError("panne simulée")
        return original(self, ctx)

    monkeypatch.setattr(seeder_module.DemoSeeder, "_person", failing)
    before = _schema()
    result = runner.invoke(args=ARGS)
    assert result.exit_code != 0 and "panne simulée" in result.output
    assert count_rows(Beneficiary) == 0
    assert _schema() == before
