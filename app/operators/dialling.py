"""Dialling an organisation's campaign through the queue, as the API and the console both do
it: upload its contact list (CSV), start, pause, resume or stop, and follow its progress.

Each function is synchronous (database work: run it off the event loop) and refuses with a
:class:`DiallingRefused` carrying the HTTP status, what went wrong and, for a contact list,
every problem by row; nothing is queued from a refused list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import func, select

from agent.campaign import Campaign
from app.contacts_file import ContactsInvalid, parse_contacts
from app.operators.accounts import Organisation
from app.operators.campaigns import get_campaign
from storage.database import Database
from storage.dialling_tables import DialCampaignRow, DialJobRow
from telephony.dialling import enqueue_campaign, progress, queued_named, set_campaign_state

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
Action = Literal["start", "pause", "resume", "stop"]
JobState = Literal["queued", "leased", "calling", "done"]  # storage's JOB_STATES
_STATE_OF: dict[str, str] = {"start": "running", "resume": "running", "pause": "paused",
                             "stop": "stopped"}


class DiallingRefused(Exception):
    """What the operator asked cannot be done: ``status`` as HTTP says it, ``problems`` as
    ``(path, message)`` pairs (a contact list's rows)."""

    def __init__(self, status: int, detail: str,
                 problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.problems = status, detail, problems or []


class DiallingProgress(BaseModel):
    """Where dialling a campaign stands: contacts per job state, finished ones per outcome."""

    campaign: str
    state: str
    total: int
    finished: bool
    jobs: dict[str, int]
    outcomes: dict[str, int]


class ContactOut(BaseModel):
    """A contact in the campaign's queue: where dialling it stands and how it ended."""

    phone: str
    first_name: str | None
    last_name: str | None
    state: str
    attempts: int
    outcome: str | None
    reason: str | None
    next_attempt_at: datetime | None
    updated_at: datetime


class ContactList(BaseModel):
    """A page of the campaign's contacts in the order they were added."""

    contacts: list[ContactOut]
    total: int


class ContactsAdded(BaseModel):
    """An uploaded contact list: how many contacts it had, how many were new to the queue."""

    contacts: int
    added: int
    progress: DiallingProgress


def _campaign(database: Database, organisation: Organisation, campaign_id: str) -> Campaign:
    stored = get_campaign(database, organisation, campaign_id)
    if stored is None:
        raise DiallingRefused(404, "no such campaign")
    return stored.campaign


def _progress(database: Database, organisation: Organisation, name: str) -> DiallingProgress:
    found = progress(database, name, organisation_id=organisation.id)
    if found is None:
        raise DiallingRefused(404, "the campaign has no contacts in the dialling queue; "
                                   "upload its contact list first")
    return DiallingProgress(campaign=found.campaign, state=found.state, total=found.total,
                            finished=found.finished, jobs=found.jobs, outcomes=found.outcomes)


def dialling_progress(database: Database, organisation: Organisation,
                      campaign_id: str) -> DiallingProgress:
    """How far dialling the campaign got (404 before any contact list)."""
    return _progress(database, organisation,
                     _campaign(database, organisation, campaign_id).name)


def add_contacts(database: Database, organisation: Organisation, campaign_id: str,
                 raw: bytes) -> ContactsAdded:
    """Add a contact list (CSV: a ``phone`` column; a ``zone`` column gives the contact's
    time zone) to the campaign's queue. A campaign new to the queue waits, paused, for
    :func:`control_dialling` ``start``."""
    campaign = _campaign(database, organisation, campaign_id)
    if not campaign.phone_numbers:
        raise DiallingRefused(422, "the campaign cannot call out", [
            ("phone_numbers", "the campaign lists no phone_numbers to call from")])
    if len(raw) > MAX_UPLOAD_BYTES:
        raise DiallingRefused(413, f"a contact list is at most {MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        contacts = parse_contacts(raw.decode("utf-8-sig"), "contacts")
        added = enqueue_campaign(database, campaign, contacts,
                                 from_number=campaign.phone_numbers[0],
                                 organisation_id=organisation.id, start=False)
    except UnicodeDecodeError:
        raise DiallingRefused(422, "invalid contact list",
                              [("", "the file is not UTF-8 text")]) from None
    except ContactsInvalid as exc:
        raise DiallingRefused(422, "invalid contact list", [
            (f"row {row}" if row else "", message) for row, message in exc.problems]) from None
    except ValueError as exc:  # a zone column naming no known zone
        raise DiallingRefused(422, "invalid contact list", [("zone", str(exc))]) from None
    return ContactsAdded(contacts=len(contacts), added=added,
                         progress=_progress(database, organisation, campaign.name))


def control_dialling(database: Database, organisation: Organisation, campaign_id: str,
                     action: Action) -> DiallingProgress:
    """Start (or resume) dialling, pause it (calls in progress go on) or stop it."""
    name = _campaign(database, organisation, campaign_id).name
    if not set_campaign_state(database, name, _STATE_OF[action],
                              organisation_id=organisation.id):
        _progress(database, organisation, name)  # raises the 404 that says what to do
    return _progress(database, organisation, name)


def list_contacts(database: Database, organisation: Organisation, campaign_id: str, *,
                  state: str | None = None, offset: int = 0, limit: int = 100) -> ContactList:
    """The campaign's contacts in the queue (of one job ``state`` if given), a page at a
    time; empty before any contact list."""
    name = _campaign(database, organisation, campaign_id).name
    jobs = select(DialJobRow).join(DialCampaignRow, DialCampaignRow.id == DialJobRow.campaign_id)
    jobs = jobs.where(queued_named(name, organisation.id))
    if state is not None:
        jobs = jobs.where(DialJobRow.state == state)
    with database.session() as session:
        total = session.scalar(select(func.count()).select_from(jobs.subquery())) or 0
        rows = session.scalars(jobs.order_by(DialJobRow.id).offset(offset).limit(limit))
        return ContactList(total=total, contacts=[ContactOut(
            phone=row.phone, first_name=row.recipient.get("first_name"),
            last_name=row.recipient.get("last_name"), state=row.state, attempts=row.attempts,
            outcome=row.outcome, reason=row.reason,
            next_attempt_at=row.run_after if row.state == "queued" else None,
            updated_at=row.updated_at) for row in rows])
