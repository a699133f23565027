"""Opening the database from a plain URL, applying migrations, and transactions.

SQLite is the embedded default; PostgreSQL is the production store. Plain URLs
(``postgresql://user@host/db``, ``sqlite:///file.db``) work: the driver is chosen here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_T = TypeVar("_T")


def normalize_url(url: str) -> URL:
    """The SQLAlchemy URL for a plain database URL, with this project's drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    raise ValueError(f"unsupported database {backend!r}: use postgresql:// or sqlite:///")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin), so it can take the write
    # lock up front when a transaction must serialise.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a killed process loses
    # nothing committed (a power cut may lose the last commits, never consistency), and a
    # booking's claim, event and confirmation stop costing three disk flushes mid-call.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One database: an engine, migrations, and sessions.

    ``schema`` (PostgreSQL only) keeps every table in that schema, so test runs and
    tenants can share a database without seeing each other.
    """

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = normalize_url(url)
        self.schema = schema
        connect_args: dict[str, Any] = {}
        if self.dialect == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            connect_args["check_same_thread"] = False
        elif schema is not None:
            if not _SCHEMA_NAME.fullmatch(schema):
                raise ValueError(f"invalid schema name {schema!r}")
            connect_args["options"] = f"-csearch_path={schema},public"
        self.engine: Engine = create_engine(
            self.url, connect_args=connect_args, pool_pre_ping=True, pool_size=20, max_overflow=80
        ) if self.dialect == "postgresql" else create_engine(self.url, connect_args=connect_args)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        # Transactions that must serialise writers: SQLite takes its write lock at BEGIN.
        self._serial_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._serial_sessions = sessionmaker(self._serial_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``"postgresql"`` or ``"sqlite"``."""
        return self.url.get_backend_name()

    def migrate(self, revision: str = "head") -> None:
        """Create the schema if needed and apply the Alembic migrations up to ``revision``
        (every one by default)."""
        if self.schema is not None and self.dialect == "postgresql":
            with self.engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect() as conn:
            sqlite = self.dialect == "sqlite"
            if sqlite:
                # A table SQLite rebuilds (batch mode) is dropped and made again: with foreign
                # keys on, the drop would cascade to the rows referring to it. The pragma only
                # takes effect outside a transaction, so before BEGIN.
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    config.attributes["connection"] = conn
                    command.upgrade(config, revision)
                    if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                        raise RuntimeError("a migration left rows referring to none")
            finally:
                if sqlite:
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def session(self, *, serial: bool = False) -> Iterator[Session]:
        """A session in one transaction, committed on success and rolled back on error.

        ``serial=True`` serialises against other serial writers on SQLite (BEGIN
        IMMEDIATE); on PostgreSQL constraints arbitrate, so it is a plain transaction.
        A transaction that reads and then writes must be serial: on SQLite a deferred one
        cannot upgrade its read to a write once another connection has committed, and fails
        at once with "database is locked" whatever the busy time-out.
        """
        factory = self._serial_sessions if serial else self._sessions
        with factory.begin() as session:
            yield session

    async def run(self, work: Callable[..., _T], *args: Any) -> _T:
        """``work(*args)`` (blocking database work) from async code.

        PostgreSQL work waits on the network, so it runs on a worker thread. SQLite work is a
        local file in WAL mode, well under a millisecond: handing it to a thread and back
        costs more than the work, so it runs right here. The price: while another connection
        holds SQLite's write lock (this project's writers hold it for milliseconds), a write
        here stalls the loop that long rather than a worker thread.
        """
        if self.dialect == "sqlite":
            return work(*args)
        return await asyncio.to_thread(work, *args)

    def drop_schema(self) -> None:
        """Remove this database's schema and everything in it (PostgreSQL test runs)."""
        if self.schema is None or self.dialect != "postgresql":
            raise ValueError("drop_schema needs a PostgreSQL schema")
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(url: str, *, schema: str | None = None, migrate: bool = True) -> Database:
    """Open the database at ``url`` and (by default) bring it up to date."""
    database = Database(url, schema=schema)
    if migrate:
        database.migrate()
    return database
