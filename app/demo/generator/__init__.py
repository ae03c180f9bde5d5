"""The demo data set: one fictional département (99) and a small neighbour (98).

Everything is derived from a seed and a reference time `now`, so the same seed and the same `now`
give the same rows, and the demo always has overdue and upcoming items whatever the day. Dates are
computed in "days ago" relative to `now` (Paris calendar days); meetings fall on weekdays.

The first people generated are the interesting ones: every decision point (`_pick`) first walks
through all its options in order before drawing at random, so even a small `--people` covers every
stage and every alert-relevant situation (the tests rely on it).

The package, by concern: `common` (constants, plans, dates), `seeder` (randomness, clock, entry
point), `accounts` (territories, agencies, users), `people` (beneficiaries and plans), `pathway`
(one pathway, built by the mixins `team`, `contracts`, `meetings`, `barriers`, `journal`).
"""
from app.demo.generator.common import parse_now
from app.demo.generator.seeder import DemoSeeder

__all__ = ["DemoSeeder", "parse_now"]
