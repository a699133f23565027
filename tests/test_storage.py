"""Storage: plain URLs open both databases, migrations apply and re-apply, overlaps are refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from storage.booking_tables import BookingRow, LocalEventRow
from storage.database import Database, normalize_url, open_database
from tests.conftest import POSTGRES_URL

T0 = datetime(2030, 3, 4, 14, 0, tzinfo=UTC)


def _booking(calendar_id: str, start: datetime, status: str = "confirmed") -> BookingRow:
    return BookingRow(
        id=str(uuid.uuid4()),
        calendar_id=calendar_id,
        call_id=f"call-{uuid.uuid4().hex[:8]}",
        campaign="demo",
        attendee_email="ann@example.com",
        subject="Intro call",
        start=start,
        end=start + timedelta(minutes=30),
        blocked_start=start - timedelta(minutes=5),
        blocked_end=start + timedelta(minutes=40),
        status=status,
    )


def test_plain_postgres_and_sqlite_urls_get_the_project_drivers() -> None:
    assert normalize_url("postgresql://root@127.0.0.1:5432/test").drivername == (
        "postgresql+psycopg"
    )
    assert normalize_url("postgres://root@127.0.0.1/test").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///tmp/x.db").drivername == "sqlite+pysqlite"


def test_unsupported_database_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        normalize_url("mysql://root@127.0.0.1/test")


def test_sqlite_file_url_opens_migrated_with_both_tables(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'nested' / 'agent.db'}")
    try:
        tables = set(inspect(db.engine).get_table_names())
        assert {"bookings", "local_events", "alembic_version"} <= tables
    finally:
        db.dispose()


def test_plain_postgres_url_opens_migrated_in_its_own_schema() -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    db = open_database(POSTGRES_URL, schema=schema)
    try:
        tables = set(inspect(db.engine).get_table_names(schema=schema))
        assert {"bookings", "local_events", "alembic_version"} <= tables
    finally:
        db.drop_schema()
        db.dispose()


def test_migrating_twice_changes_nothing(database: Database) -> None:
    with database.session() as session:
        session.add(_booking("cal", T0))
    database.migrate()
    with database.session() as session:
        version = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        count = len(session.scalars(select(BookingRow)).all())
    assert version is not None
    assert count == 1


def test_datetimes_come_back_aware_in_utc(database: Database) -> None:
    eastern = T0.astimezone(ZoneInfo("America/New_York"))
    row = _booking("cal", eastern)
    with database.session() as session:
        session.add(row)
    with database.session() as session:
        stored = session.get(BookingRow, row.id)
        assert stored is not None
        assert stored.start == T0
        assert stored.start.tzinfo == UTC


def test_naive_datetime_is_refused_not_guessed(database: Database) -> None:
    row = _booking("cal", T0)
    row.start = T0.replace(tzinfo=None)
    with pytest.raises(Exception, match="naive datetime refused"):
        with database.session() as session:
            session.add(row)


def test_unknown_booking_status_is_refused(database: Database) -> None:
    with pytest.raises(IntegrityError):
        with database.session() as session:
            session.add(_booking("cal", T0, status="maybe"))


def test_a_call_holds_at_most_one_live_booking_per_calendar(database: Database) -> None:
    first = _booking("cal", T0)
    second = _booking("cal", T0 + timedelta(hours=3))
    second.call_id = first.call_id
    with database.session() as session:
        session.add(first)
    with pytest.raises(IntegrityError):
        with database.session() as session:
            session.add(second)
    second.status = "failed"  # a failed attempt beside the live booking is fine
    with database.session() as session:
        session.add(second)


def test_postgres_refuses_two_live_bookings_with_overlapping_blocked_ranges() -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    db = open_database(POSTGRES_URL, schema=schema)
    try:
        with db.session() as session:
            session.add(_booking("cal", T0))
        # 30 minutes later overlaps the first one's 10-minute after-buffer.
        with pytest.raises(IntegrityError, match="ex_bookings_blocked_overlap"):
            with db.session() as session:
                session.add(_booking("cal", T0 + timedelta(minutes=30)))
        # Another calendar, or a booking that is no longer live, does not conflict.
        with db.session() as session:
            session.add(_booking("other-cal", T0))
            session.add(_booking("cal", T0, status="failed"))
            session.add(_booking("cal", T0, status="cancelled"))
    finally:
        db.drop_schema()
        db.dispose()


def test_local_event_idempotency_key_is_unique_per_calendar(database: Database) -> None:
    def event(calendar_id: str, key: str | None) -> LocalEventRow:
        return LocalEventRow(
            id=str(uuid.uuid4()), calendar_id=calendar_id, idempotency_key=key,
            subject="x", start=T0, end=T0 + timedelta(minutes=30),
        )

    with database.session() as session:
        session.add_all([event("a", "k1"), event("b", "k1"), event("a", None), event("a", None)])
    with pytest.raises(IntegrityError):
        with database.session() as session:
            session.add(event("a", "k1"))
