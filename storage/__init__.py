"""The database: engine from a plain URL, tables and Alembic migrations."""
