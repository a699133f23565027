"""Shared fixtures: a migrated database, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from storage.database import Database, open_database

POSTGRES_URL = os.environ.get(
    "BOOKING_AGENT_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A freshly migrated database: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "booking-agent.db"
        db = open_database(f"sqlite:///{path}")
        yield db
        db.dispose()
        return
    db = open_database(POSTGRES_URL, schema=f"t_{uuid.uuid4().hex[:12]}")
    try:
        yield db
    finally:
        db.drop_schema()
        db.dispose()
