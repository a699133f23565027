"""Shared fixtures: a migrated database (once on SQLite, once on PostgreSQL), a hostile model."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from storage.database import Database, open_database
from tests.fakes.adversarial_openai import AdversarialOpenAI

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


@pytest.fixture(scope="session")
def hostile_openai() -> Iterator[AdversarialOpenAI]:
    """The hostile fake OpenAI server on loopback; each call registers its own model on it."""
    with AdversarialOpenAI() as server:
        yield server
