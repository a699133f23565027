"""Campaigns kept in the database for an organisation: the same document as a campaign file.

A campaign is validated whole (:func:`app.campaign_files.parse_campaign`) before it is
stored, so what is stored always loads; what is stored is what the operator set (fields left
out keep following the defaults). Updates are whole replacements or JSON merge patches
(RFC 7396), validated the same way.

The numbers a stored campaign lists are indexed (``campaign_numbers``) in the transaction that
writes the campaign, so an inbound call finds its campaign without reading any document; each
number is one organisation's (``phone_numbers``), claimed by writing that row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent.campaign import Campaign
from app.bootstrap import for_organisation
from app.campaign_files import CampaignInvalid, parse_campaign
from app.operators.accounts import Organisation
from calendar_backend import member_calendars
from storage.base import utc_now
from storage.database import Database
from storage.operator_tables import CampaignNumberRow, CampaignRow, PhoneNumberRow

__all__ = [
    "CampaignConflict", "CampaignInvalid", "CampaignNameTaken", "PhoneNumberTaken",
    "StoredCampaign", "StoredCampaigns", "campaign_named", "create_campaign",
    "delete_campaign", "export_yaml", "get_campaign", "list_campaigns", "merge_patch",
    "parse_yaml", "patch_campaign", "replace_campaign",
]


class CampaignConflict(ValueError):
    """The campaign is valid but clashes with one already stored (at field ``path``)."""

    path = "name"


class CampaignNameTaken(CampaignConflict):
    """The organisation already has a campaign of that name."""


class PhoneNumberTaken(CampaignConflict):
    """Another organisation's stored campaign has one of the campaign's phone numbers: a
    call to it could not say which organisation it is for."""

    path = "phone_numbers"


@dataclass(frozen=True)
class StoredCampaign:
    """A campaign of an organisation: its document and the campaign it validates to."""

    id: str
    name: str
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def campaign(self) -> Campaign:
        """The validated campaign (the stored document always validates)."""
        return parse_campaign(self.document, self.name)


def _stored(row: CampaignRow) -> StoredCampaign:
    return StoredCampaign(row.id, row.name, row.document, row.created_at, row.updated_at)


def _nul_characters(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Where ``value`` holds a NUL character, which no text field means and PostgreSQL
    cannot store."""
    if isinstance(value, str):
        return [(path, "contains a NUL character")] if "\x00" in value else []
    if isinstance(value, dict):
        return [problem for key, item in value.items()
                for problem in _nul_characters(key, path) + _nul_characters(
                    item, f"{path}.{key}" if path else str(key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _nul_characters(item, f"{path}.{i}")]
    return []


def _calendar_problems(database: Database, organisation: Organisation,
                       document: Any) -> list[tuple[str, str]]:
    """A ``member:<operator_id>`` calendar (the campaign's, or a pool member's) must be a
    member of this organisation."""
    booking = document.get("booking") if isinstance(document, dict) else None
    if not isinstance(booking, dict):
        return []
    named = [("booking.calendar", booking.get("calendar"))]
    pool = booking.get("pool")
    if isinstance(pool, list):
        named += [(f"booking.pool.{i}.calendar", member.get("calendar"))
                  for i, member in enumerate(pool) if isinstance(member, dict)]
    return [(path, f"{reference!r} is not a member of this organisation (the calendar owner "
                   "must be one of its members: member:<operator id>)")
            for path, reference in named
            if isinstance(reference, str) and member_calendars.is_member_ref(reference)
            and not _is_member(database, organisation, reference)]


def _is_member(database: Database, organisation: Organisation, reference: str) -> bool:
    operator_id = member_calendars.member_id(reference)
    return bool(operator_id) and "\x00" not in operator_id and member_calendars.find_member(
        database, organisation.id, operator_id) is not None


def _validated(database: Database, organisation: Organisation,
               document: Any) -> tuple[str, dict[str, Any]]:
    """The campaign's name and the document to store: what the operator set, in JSON form.

    Refused with every problem: the campaign's own, and a calendar owner who is not a member
    of the organisation."""
    calendar = _calendar_problems(database, organisation, document)
    try:
        campaign = parse_campaign(document, "campaign")
    except CampaignInvalid as exc:
        raise CampaignInvalid("campaign", exc.problems + calendar) from None
    nul = _nul_characters(document)
    if nul or calendar:
        raise CampaignInvalid("campaign", nul + calendar)
    return campaign.name, campaign.model_dump(mode="json", exclude_unset=True)


def _claim(session: Session, number: str, organisation_id: str) -> str:
    """The organisation ``number`` belongs to once this transaction ends: ours if no one had
    it. The owner's row stays locked until then (PostgreSQL), so a claim racing ours waits
    for it and finds the number taken, and a release cannot drop it under us."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    owner = session.scalar(insert(PhoneNumberRow).values(
        number=number, organisation_id=organisation_id,
    ).on_conflict_do_update(  # a no-op update: it locks the row and returns its owner
        index_elements=["number"], set_={"organisation_id": PhoneNumberRow.organisation_id},
    ).returning(PhoneNumberRow.organisation_id))
    return str(owner)


def _release(session: Session, number: str) -> None:
    """Free ``number`` for any organisation once no campaign lists it (its owner row locked,
    so a campaign of the owner claiming it meanwhile keeps it)."""
    owner = session.scalars(select(PhoneNumberRow).where(
        PhoneNumberRow.number == number).with_for_update()).first()
    if owner is not None and session.scalar(select(CampaignNumberRow.campaign_id).where(
            CampaignNumberRow.number == number).limit(1)) is None:
        session.delete(owner)


def _index_numbers(session: Session, campaign_id: str, organisation_id: str,
                   document: dict[str, Any]) -> None:
    """Make the numbers the campaign's ``document`` lists the ones it answers: claimed for
    the organisation (:class:`PhoneNumberTaken` when another organisation has one; its
    campaigns may share a number to call out, and a call in reaches the oldest), and
    released when no campaign lists them any more."""
    wanted = set(document.get("phone_numbers", []))
    listed = set(session.scalars(select(CampaignNumberRow.number).where(
        CampaignNumberRow.campaign_id == campaign_id)))
    session.execute(delete(CampaignNumberRow).where(
        CampaignNumberRow.campaign_id == campaign_id,
        CampaignNumberRow.number.in_(listed - wanted)))
    taken: list[str] = []
    # Numbers in one order, whoever writes: two campaigns' writes never wait on each other
    # in a circle.
    for number in sorted(wanted ^ listed):
        if number not in wanted:
            _release(session, number)
        elif _claim(session, number, organisation_id) != organisation_id:
            taken.append(number)
    if taken:
        raise PhoneNumberTaken(f"{', '.join(taken)} belongs to another organisation's campaign")
    session.add_all(CampaignNumberRow(number=number, campaign_id=campaign_id,
                                      organisation_id=organisation_id)
                    for number in sorted(wanted - listed))


class StoredCampaigns:
    """The call server's view of every organisation's campaigns: by the number a caller
    dialled and by id, each as its organisation runs it."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def answering(self, dialled: str) -> tuple[str, Campaign, str] | None:
        """The stored campaign listing ``dialled``: the oldest of the one organisation whose
        number it is (an indexed look-up, however many campaigns are stored)."""
        with self._database.session() as session:
            row = session.execute(select(
                CampaignRow.id, CampaignRow.name, CampaignRow.document,
                CampaignRow.organisation_id,
            ).join(CampaignNumberRow, CampaignNumberRow.campaign_id == CampaignRow.id).where(
                CampaignNumberRow.number == dialled,
            ).order_by(CampaignRow.created_at, CampaignRow.id).limit(1)).first()
        if row is None:
            return None
        campaign_id, name, document, organisation_id = row
        return campaign_id, _as_run(name, document, organisation_id), organisation_id

    def by_id(self, campaign_id: str) -> tuple[str, Campaign, str] | None:
        """The stored campaign with this id, of whichever organisation."""
        with self._database.session() as session:
            row = session.get(CampaignRow, campaign_id)
            if row is None:
                return None
            return row.id, _as_run(row.name, row.document, row.organisation_id), \
                row.organisation_id


    def named(self, organisation_id: str, name: str) -> tuple[str, Campaign, str] | None:
        """The organisation's stored campaign called ``name``."""
        with self._database.session() as session:
            row = session.scalars(select(CampaignRow).where(
                CampaignRow.organisation_id == organisation_id,
                CampaignRow.name == name)).first()
            if row is None:
                return None
            return row.id, _as_run(row.name, row.document, organisation_id), organisation_id


def _as_run(name: str, document: dict[str, Any], organisation_id: str) -> Campaign:
    return for_organisation(parse_campaign(document, name), organisation_id)


def list_campaigns(database: Database, organisation: Organisation) -> list[StoredCampaign]:
    """The organisation's campaigns by name."""
    with database.session() as session:
        rows = session.scalars(select(CampaignRow).where(
            CampaignRow.organisation_id == organisation.id).order_by(CampaignRow.name))
        return [_stored(row) for row in rows]


def _row(session: Any, organisation: Organisation, campaign_id: str) -> CampaignRow | None:
    return session.scalars(select(CampaignRow).where(
        CampaignRow.id == campaign_id, CampaignRow.organisation_id == organisation.id)).first()


def get_campaign(
    database: Database, organisation: Organisation, campaign_id: str
) -> StoredCampaign | None:
    """One of the organisation's campaigns; ``None`` if it has none by that id."""
    with database.session() as session:
        row = _row(session, organisation, campaign_id)
        return _stored(row) if row is not None else None


def campaign_named(
    database: Database, organisation: Organisation, name: str
) -> StoredCampaign | None:
    """The organisation's campaign called ``name`` (calls and bookings record the name)."""
    with database.session() as session:
        row = session.scalars(select(CampaignRow).where(
            CampaignRow.organisation_id == organisation.id, CampaignRow.name == name)).first()
        return _stored(row) if row is not None else None


def _name_taken(name: str) -> CampaignNameTaken:
    return CampaignNameTaken(f"there is already a campaign named {name!r}")


def create_campaign(
    database: Database, organisation: Organisation, document: Any
) -> StoredCampaign:
    """Store a new campaign; raises :class:`CampaignInvalid` (every problem by path) or a
    :class:`CampaignConflict` (its name or a phone number taken)."""
    name, stored = _validated(database, organisation, document)
    now = utc_now()
    try:
        with database.session(serial=True) as session:
            row = CampaignRow(id=str(uuid.uuid4()), organisation_id=organisation.id, name=name,
                              document=stored, created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            _index_numbers(session, row.id, organisation.id, stored)
            return _stored(row)
    except IntegrityError:
        raise _name_taken(name) from None


def replace_campaign(
    database: Database, organisation: Organisation, campaign_id: str, document: Any
) -> StoredCampaign | None:
    """Replace a campaign's document whole; ``None`` if the organisation has no such one."""
    name, stored = _validated(database, organisation, document)
    try:
        with database.session(serial=True) as session:
            row = _row(session, organisation, campaign_id)
            if row is None:
                return None
            row.name, row.document, row.updated_at = name, stored, utc_now()
            session.flush()
            _index_numbers(session, campaign_id, organisation.id, stored)
            return _stored(row)
    except IntegrityError:
        raise _name_taken(name) from None


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: ``patch`` applied to ``target`` (``null`` removes a field)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def patch_campaign(
    database: Database, organisation: Organisation, campaign_id: str, patch: Any
) -> StoredCampaign | None:
    """Apply a JSON merge patch to a campaign and validate the result whole."""
    current = get_campaign(database, organisation, campaign_id)
    if current is None:
        return None
    return replace_campaign(database, organisation, campaign_id,
                            merge_patch(current.document, patch))


def delete_campaign(database: Database, organisation: Organisation, campaign_id: str) -> bool:
    """Delete a campaign; False if the organisation has no such one."""
    with database.session(serial=True) as session:
        row = _row(session, organisation, campaign_id)
        if row is None:
            return False
        _index_numbers(session, campaign_id, organisation.id, {})
        session.delete(row)
        return True


def parse_yaml(text: str) -> Any:
    """A campaign file's text as data; raises :class:`CampaignInvalid` if it is not YAML."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CampaignInvalid("campaign", [("", f"not valid YAML: {exc}")]) from None


def export_yaml(campaign: StoredCampaign) -> str:
    """The campaign as a campaign file the CLI loads."""
    return yaml.safe_dump(campaign.document, sort_keys=False, allow_unicode=True)
