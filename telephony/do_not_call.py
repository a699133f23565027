"""The organisation-wide do-not-call list: numbers (E.164) that no campaign may call again.

Filled from imported lists and from callers who said on a call that they want no more calls;
every dialling worker looks a number up here right before it dials.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.database import Database
from storage.dialling_tables import DoNotCallRow

# The scope of campaigns run from files, which belong to no organisation.
NO_ORGANISATION = ""


def scope_of(organisation_id: str | None) -> str:
    """The do-not-call scope of an organisation (campaign files share one)."""
    return organisation_id or NO_ORGANISATION


def add_numbers(database: Database, phones: Iterable[str], *, source: str,
                organisation_id: str | None = None) -> int:
    """Put E.164 ``phones`` on the list; returns how many were new."""
    values = [{"scope": scope_of(organisation_id), "phone": p, "source": source[:64]}
              for p in dict.fromkeys(phones)]
    if not values:
        return 0
    with database.session(serial=True) as session:
        return add_in_session(session, database.dialect, values)


def add_in_session(session: Session, dialect: str, values: list[dict[str, str]]) -> int:
    """Insert do-not-call rows in an open transaction, leaving numbers already listed."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = session.execute(insert(DoNotCallRow).values(values).on_conflict_do_nothing(
        index_elements=["scope", "phone"]))
    return max(result.rowcount, 0)


def is_listed(database: Database, phone: str, *, organisation_id: str | None = None) -> bool:
    """Whether ``phone`` must not be called by ``organisation_id``'s campaigns."""
    with database.session() as session:
        return session.scalar(select(DoNotCallRow.phone).where(
            DoNotCallRow.scope == scope_of(organisation_id),
            DoNotCallRow.phone == phone)) is not None


def listed_numbers(database: Database, *, organisation_id: str | None = None) -> list[str]:
    """Every number on the organisation's list, sorted."""
    with database.session() as session:
        return list(session.scalars(select(DoNotCallRow.phone).where(
            DoNotCallRow.scope == scope_of(organisation_id)).order_by(DoNotCallRow.phone)))
