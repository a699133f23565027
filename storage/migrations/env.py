"""Alembic environment: runs on the connection storage.database hands over."""

from __future__ import annotations

from alembic import context

# Importing the table modules registers their tables on Base.metadata.
import storage.tables  # noqa: F401
from storage.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through storage.database.Database.migrate()")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
