"""Column types and mixins shared by every feature's models."""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so values are normalised to UTC on
    the way in and tagged UTC on the way out. Naive datetimes are refused: they are a bug.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def enum_column(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum: VARCHAR + CHECK constraint holding the enum's values (not its names)."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=max(len(m.value) for m in enum_cls) + 8,
        values_callable=lambda cls: [m.value for m in cls],
    )


class StrEnum(str, enum.Enum):
    """A domain enum: each member is its code (stored, sent by the API) and its French label (shown).

    Members are declared as `HOUSING = "housing", "Logement"`, so the label sits next to the code
    in the feature's own models module; `app.labels.label(member)` reads it. A member without a
    label is refused when the enum is defined.
    """

    label: str

    def __new__(cls, value: str, label: str = "") -> StrEnum:
        if not label:
            raise TypeError(f'{cls.__name__}: give {value!r} its French label, e.g. NAME = {value!r}, "Libellé"')
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    def __str__(self) -> str:  # so templates and f-strings show the code value
        return self.value


class TerritoryScoped:
    """Every record table carries its territory, so data can be isolated and partitioned."""

    territory_id: Mapped[int] = mapped_column(
        sa.ForeignKey("territory.id", ondelete="RESTRICT"), index=True
    )


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Versioned:
    """Optimistic concurrency: SQLAlchemy bumps `version` on every UPDATE and checks the old value.

    Services also compare the version the user last saw (`expected_version`) before writing, so a
    stale form is refused with a conflict instead of overwriting someone else's change.
    """

    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    @sa.orm.declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}
