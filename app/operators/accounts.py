"""Organisations, the operators who sign in for them, and their API keys.

Passwords are kept as argon2 hashes. An API key is ``bka_<prefix>_<secret>``: the prefix
finds its row, and only the secret's SHA-256 is stored (a random 32-byte secret needs no
slow hash; a password does). A key is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.base import utc_now
from storage.database import Database
from storage.operator_tables import ApiKeyRow, OperatorRow, OrganisationRow

_HASHER = PasswordHasher()
_KEY_START = "bka_"
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A request about accounts that cannot be done, with the reason in words."""


@dataclass(frozen=True)
class Organisation:
    """An organisation: the unit every operator's data belongs to."""

    id: str
    name: str


@dataclass(frozen=True)
class Operator:
    """A person who signs in for ``organisation``."""

    id: str
    email: str
    organisation: Organisation


@dataclass(frozen=True)
class ApiKey:
    """An API key as listed (never its secret)."""

    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def _organisation(row: OrganisationRow) -> Organisation:
    return Organisation(row.id, row.name)


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, row.prefix, row.created_at, row.revoked_at)


def _normal_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain) or any(c.isspace() for c in email):
        raise AccountError(f"{email!r} is not an e-mail address")
    return email


def find_organisation(database: Database, name: str) -> Organisation | None:
    """The organisation called ``name``, if there is one."""
    with database.session() as session:
        row = session.scalars(select(OrganisationRow).where(OrganisationRow.name == name)).first()
        return _organisation(row) if row is not None else None


def create_operator(database: Database, email: str, password: str, organisation: str) -> Operator:
    """A new operator of ``organisation`` (made if it does not exist yet)."""
    email = _normal_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    name = organisation.strip()
    if not name:
        raise AccountError("the organisation needs a name")
    try:
        with database.session() as session:
            org = session.scalars(
                select(OrganisationRow).where(OrganisationRow.name == name)).first()
            if org is None:
                org = OrganisationRow(id=str(uuid.uuid4()), name=name)
                session.add(org)
                session.flush()  # no relationship() orders the inserts: the row goes first
            row = OperatorRow(id=str(uuid.uuid4()), organisation_id=org.id, email=email,
                              password_hash=_HASHER.hash(password))
            session.add(row)
            session.flush()
            return Operator(row.id, email, _organisation(org))
    except IntegrityError:
        raise AccountError(f"an operator with the e-mail {email} already exists") from None


def any_operator(database: Database) -> bool:
    """Whether anyone can sign in yet (the console's first-run page asks)."""
    with database.session() as session:
        return session.scalars(select(OperatorRow.id).limit(1)).first() is not None


def sign_in(database: Database, email: str, password: str) -> Operator | None:
    """The operator whose e-mail and password these are, else ``None`` (never says which
    part was wrong)."""
    try:
        email = _normal_email(email)
    except AccountError:
        return None
    with database.session() as session:
        row = session.scalars(select(OperatorRow).where(OperatorRow.email == email)).first()
        if row is None:
            _HASHER.hash(password)  # the same work either way: timing tells nothing
            return None
        try:
            _HASHER.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        org = session.get(OrganisationRow, row.organisation_id)
        assert org is not None  # the foreign key guarantees it
        return Operator(row.id, row.email, _organisation(org))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(database: Database, organisation: Organisation, name: str) -> tuple[ApiKey, str]:
    """A new key for ``organisation``: its listing, and the key itself (shown only now)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError("an API key needs a name of 1 to 200 characters")
    prefix, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with database.session() as session:
        row = ApiKeyRow(id=str(uuid.uuid4()), organisation_id=organisation.id, name=name,
                        prefix=prefix, secret_hash=_digest(secret), created_at=utc_now())
        session.add(row)
        session.flush()
        return _key(row), f"{_KEY_START}{prefix}_{secret}"


def api_keys(database: Database, organisation: Organisation) -> list[ApiKey]:
    """The organisation's keys, oldest first, revoked ones included."""
    with database.session() as session:
        rows = session.scalars(select(ApiKeyRow).where(
            ApiKeyRow.organisation_id == organisation.id).order_by(ApiKeyRow.created_at))
        return [_key(row) for row in rows]


def revoke_api_key(database: Database, organisation: Organisation, key_id: str) -> ApiKey:
    """Revoke one of the organisation's keys; it is refused from now on."""
    with database.session() as session:
        row = session.scalars(select(ApiKeyRow).where(
            ApiKeyRow.id == key_id, ApiKeyRow.organisation_id == organisation.id)).first()
        if row is None:
            raise AccountError(f"no API key {key_id} in {organisation.name}")
        if row.revoked_at is None:
            row.revoked_at = utc_now()
        return _key(row)


def organisation_of_key(database: Database, key: str) -> Organisation | None:
    """The organisation a presented API key acts for; ``None`` for an unknown, malformed
    or revoked key."""
    prefix, _, secret = key.removeprefix(_KEY_START).partition("_")
    if not key.startswith(_KEY_START) or not prefix or not secret or len(prefix) > 32:
        return None
    with database.session() as session:
        row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_hash, _digest(secret)):
            return None
        org = session.get(OrganisationRow, row.organisation_id)
        return _organisation(org) if org is not None else None
