"""The dialling queue: every contact of a running campaign is a job in the database, taken by
``booking-agent worker`` processes on any number of hosts.

Why ``SELECT ... FOR UPDATE SKIP LOCKED`` on our own tables, not a queue library or broker:
PostgreSQL already decides first-confirm-wins for bookings, so it is the one engine every host
shares already; no extra service to run, and the job, its attempts, the do-not-call list and
the calls-per-second budget change in the same transactions. A worker locks the rows it takes
and skips rows another worker holds, so workers never wait on each other and never take the
same job.

A job moves ``queued`` → ``leased`` (a worker is about to dial; ``lease_until`` bounds how long
it may take) → ``calling`` (Twilio took the call; the call's final status callback, received by
any call server, settles it) → ``queued`` again for a retry, or ``done`` with its outcome
(booked, talked, voicemail, opted_out, unreachable, invalid). A worker killed while holding a
lease loses nothing: once the lease runs out another worker takes the job. A contact is never
in two calls at once: a ``calling`` job is taken again only after Twilio says its call ended.

The calls-per-second budget of a Twilio account is one row: a worker reserves the next start
time under a row lock and waits for it, so the budget holds whatever the number of workers.

SQLite serves one worker only (its write lock is the whole database, and it has no SKIP
LOCKED): a second worker on the same SQLite file is refused (:class:`WorkerRefused`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from agent.campaign import Campaign, DiallingSettings
from calendar_backend.booking_settings import Recipient
from caller_language.phone_numbers import e164
from prompts import line
from storage.call_tables import CallRow
from storage.database import Database
from storage.dialling_tables import (
    DIAL_CAMPAIGN_KEY,
    DialAttemptRow,
    DialBudgetRow,
    DialCampaignRow,
    DialJobRow,
    DialWorkerRow,
)
from telephony.call_records import FINAL_STATUSES
from telephony.calling_hours import candidate_zones, next_calling_time, within_hours
from telephony.config import DiallerConfig, TwilioConfig
from telephony.do_not_call import is_listed
from telephony.outbound import CallNotPlaced, OutboundNotConfigured, check_account, create_call
from telephony.twilio_payloads import DialReference

log = logging.getLogger(__name__)

# Twilio's final statuses after which the contact may be tried again.
RETRY_STATUSES = FINAL_STATUSES - {"completed"}
# Async AMD verdicts meaning nobody is there to talk to.
MACHINE_ANSWERS = frozenset({"machine_end_beep", "machine_end_silence", "machine_end_other",
                             "machine_start", "fax"})
# Column names (any case) of a contact list that give the contact's zone.
ZONE_COLUMNS = ("zone", "timezone", "time_zone", "tz")


class WorkerRefused(RuntimeError):
    """A worker that may not start (a second worker on SQLite)."""


def _now() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    """This process's name among the workers: host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


# --- campaigns and their contacts -----------------------------------------------------------

def listed_zone(recipient: Recipient) -> str | None:
    """The zone the contact list gives for ``recipient`` (a zone/timezone column), if any."""
    for key, value in recipient.custom.items():
        if key.lower() in ZONE_COLUMNS and value.strip():
            return value.strip()
    return None


def enqueue_campaign(
    database: Database, campaign: Campaign, contacts: list[Recipient], *, from_number: str,
    organisation_id: str | None = None, now: datetime | None = None, start: bool = True,
) -> int:
    """Put ``campaign`` and its ``contacts`` in the queue; returns how many are new.

    With ``start`` the campaign runs at once; without, a campaign new to the queue waits
    paused (an upload before the operator presses start) and a queued one keeps its state.
    Contacts already queued for the campaign are left as they are. Each job waits for the
    contact's next calling hours. A zone the list names that no one knows is refused
    (ValueError naming the contacts) and nothing is added. The queued campaign is the
    organisation's of that name (``organisation_id`` None: the campaign files' of that name).
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    now = now or _now()
    our_number = e164(from_number)
    hours = campaign.dialling.calling_hours
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for contact in contacts:
        zone = listed_zone(contact)
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(f"{contact.phone}: unknown time zone {zone!r}")
                continue
        phone = e164(contact.phone or "")
        zones = candidate_zones(phone, zone)
        due = next_calling_time(now, zones, hours)
        row: dict[str, Any] = {
            "phone": phone, "recipient": contact.model_dump(), "zones": zones,
            "state": "queued", "run_after": due or now, "attempts": 0, "updated_at": now}
        if due is None:
            row.update(state="done", outcome="unreachable",
                       reason="no hour inside the calling hours in every zone of the number")
        rows.append(row)
    if problems:
        raise ValueError("contacts not queued:\n  " + "\n  ".join(problems))
    insert = pg_insert if database.dialect == "postgresql" else sqlite_insert
    settings = {"dialling": campaign.dialling.model_dump(mode="json"),
                "business_name": campaign.business_name, "agent_name": campaign.agent_name}
    changes: dict[str, Any] = {"from_number": our_number, "settings": settings}
    if start:
        changes["state"] = "running"
    with database.session(serial=True) as session:
        campaign_id = session.scalar(insert(DialCampaignRow).values(
            name=campaign.name, organisation_id=organisation_id,
            state="running" if start else "paused",
            from_number=our_number, settings=settings, created_at=now,
        ).on_conflict_do_update(index_elements=list(DIAL_CAMPAIGN_KEY), set_=changes)
            .returning(DialCampaignRow.id))
        if not rows:
            return 0
        count = select(func.count()).select_from(DialJobRow).where(
            DialJobRow.campaign_id == campaign_id)
        before = session.scalar(count) or 0
        session.execute(insert(DialJobRow).values(
            [{**r, "campaign_id": campaign_id} for r in rows]
        ).on_conflict_do_nothing(index_elements=["campaign_id", "phone"]))
        return (session.scalar(count) or 0) - before


def queued_named(name: str, organisation_id: str | None) -> Any:
    """The condition selecting the queued campaign ``name`` of ``organisation_id``: a name is
    known within its organisation only; None (the CLI) means the campaign files'."""
    owner = DialCampaignRow.organisation_id
    return (DialCampaignRow.name == name) & (
        owner.is_(None) if organisation_id is None else owner == organisation_id)


def set_campaign_state(database: Database, name: str, state: str, *,
                       organisation_id: str | None = None) -> bool:
    """Run, pause or stop dialling a campaign; False if it is not in the queue.

    Paused and stopped campaigns' jobs are not taken; calls in progress go on.
    """
    with database.session() as session:
        return session.execute(update(DialCampaignRow).where(
            queued_named(name, organisation_id)).values(state=state)).rowcount == 1


@dataclass(frozen=True)
class Progress:
    """Where a campaign's dialling stands: jobs per state, and finished ones per outcome."""

    campaign: str
    state: str
    jobs: dict[str, int]
    outcomes: dict[str, int]

    @property
    def total(self) -> int:
        """All the campaign's contacts."""
        return sum(self.jobs.values())

    @property
    def finished(self) -> bool:
        """Whether every contact has its final state."""
        return self.jobs.get("done", 0) == self.total


def progress(database: Database, name: str, *,
             organisation_id: str | None = None) -> Progress | None:
    """The campaign's dialling progress, or None if it is not in the queue."""
    with database.session() as session:
        row = session.execute(select(DialCampaignRow.id, DialCampaignRow.state).where(
            queued_named(name, organisation_id))).first()
        if row is None:
            return None
        jobs = dict(session.execute(select(DialJobRow.state, func.count()).where(
            DialJobRow.campaign_id == row.id).group_by(DialJobRow.state)).all())
        outcomes = dict(session.execute(select(DialJobRow.outcome, func.count()).where(
            DialJobRow.campaign_id == row.id, DialJobRow.outcome.is_not(None),
        ).group_by(DialJobRow.outcome)).all())
    return Progress(name, row.state, {str(k): int(v) for k, v in jobs.items()},
                    {str(k): int(v) for k, v in outcomes.items()})


# --- workers --------------------------------------------------------------------------------

def register_worker(database: Database, name: str, *, stale_after: float) -> None:
    """Note that worker ``name`` runs; on SQLite refuse it while another worker is alive.

    A worker is alive while its heartbeat is younger than ``stale_after`` seconds, so a
    killed SQLite worker does not lock the queue for ever.
    """
    now = _now()
    with database.session(serial=True) as session:
        if database.dialect == "sqlite":
            other = session.scalar(select(DialWorkerRow.name).where(
                DialWorkerRow.name != name, DialWorkerRow.stopped_at.is_(None),
                DialWorkerRow.heartbeat_at > now - timedelta(seconds=stale_after)))
            if other is not None:
                raise WorkerRefused(
                    f"worker {other} already dials from this SQLite database, and SQLite "
                    "serves one worker: stop it first, or use PostgreSQL "
                    "(BOOKING_AGENT_DATABASE_URL) to run several")
        row = session.get(DialWorkerRow, name)
        if row is None:
            session.add(DialWorkerRow(name=name, started_at=now, heartbeat_at=now))
        else:
            row.started_at, row.heartbeat_at, row.stopped_at = now, now, None


def heartbeat(database: Database, name: str, *, stopped: bool = False) -> None:
    """Renew worker ``name``'s sign of life (or note that it stopped)."""
    values: dict[str, Any] = {"heartbeat_at": _now()}
    if stopped:
        values["stopped_at"] = _now()
    with database.session() as session:
        session.execute(update(DialWorkerRow).where(DialWorkerRow.name == name).values(values))


# --- taking jobs ----------------------------------------------------------------------------

@dataclass(frozen=True)
class LeasedJob:
    """A job this worker holds until ``lease_until``, with what dialling it needs."""

    id: int
    phone: str
    recipient: Recipient
    zones: list[str]
    attempts: int
    campaign_id: int
    campaign: str
    organisation_id: str | None
    from_number: str
    settings: DiallingSettings


def _locked(statement: Any, database: Database, *, skip: bool = True) -> Any:
    # SQLite has no row locks (the serial transaction holds the whole database instead).
    if database.dialect == "postgresql":
        return statement.with_for_update(skip_locked=skip)
    return statement


def claim_job(database: Database, worker: str, lease_seconds: float,
              now: datetime | None = None) -> LeasedJob | None:
    """Lease the next due job of any running campaign with room for another call, or None.

    The campaign row is locked (others skipped) while its calls in progress are counted, so
    two workers cannot both take the last place under ``max_calls_in_progress``; the job row
    is locked with SKIP LOCKED, so workers never queue behind each other's jobs. A ``leased``
    job whose lease ran out (its worker died before dialling) is due again.
    """
    now = now or _now()
    with database.session(serial=True) as session:
        campaigns = session.execute(_locked(
            select(DialCampaignRow).where(DialCampaignRow.state == "running")
            .order_by(DialCampaignRow.id), database)).scalars().all()
        for campaign in campaigns:
            settings = DiallingSettings.model_validate(campaign.settings.get("dialling", {}))
            busy = session.scalar(select(func.count()).select_from(DialJobRow).where(
                DialJobRow.campaign_id == campaign.id,
                (DialJobRow.state == "calling")
                | ((DialJobRow.state == "leased") & (DialJobRow.lease_until > now)))) or 0
            if busy >= settings.max_calls_in_progress:
                continue
            job = session.execute(_locked(
                select(DialJobRow).where(
                    DialJobRow.campaign_id == campaign.id,
                    ((DialJobRow.state == "queued") & (DialJobRow.run_after <= now))
                    | ((DialJobRow.state == "leased") & (DialJobRow.lease_until <= now)))
                .order_by(DialJobRow.run_after, DialJobRow.id).limit(1), database)
            ).scalars().first()
            if job is None:
                continue
            if job.state == "leased" and job.attempts:
                # Its worker stopped after counting an attempt and no callback ever said a
                # call exists (that would have made the job ``calling``): nothing rang.
                session.execute(update(DialAttemptRow).where(
                    DialAttemptRow.job_id == job.id, DialAttemptRow.attempt == job.attempts,
                    DialAttemptRow.status.is_(None),
                ).values(status="lost", ended_at=now,
                         reason="the worker stopped while dialling; Twilio reported no call"))
            job.state, job.leased_by, job.updated_at = "leased", worker, now
            job.lease_until = now + timedelta(seconds=lease_seconds)
            return LeasedJob(
                id=job.id, phone=job.phone, recipient=Recipient.model_validate(job.recipient),
                zones=list(job.zones), attempts=job.attempts, campaign_id=campaign.id,
                campaign=campaign.name, organisation_id=campaign.organisation_id,
                from_number=campaign.from_number, settings=settings)
    return None


def extend_lease(database: Database, job: LeasedJob, worker: str, until: datetime) -> bool:
    """Keep holding ``job`` until ``until``; False if this worker no longer holds it."""
    with database.session() as session:
        return session.execute(update(DialJobRow).where(
            DialJobRow.id == job.id, DialJobRow.state == "leased",
            DialJobRow.leased_by == worker).values(lease_until=until)).rowcount == 1


def release(database: Database, job: LeasedJob, worker: str, *, run_after: datetime,
            reason: str | None = None) -> None:
    """Give ``job`` back to the queue, due at ``run_after`` (nothing was dialled)."""
    with database.session() as session:
        session.execute(update(DialJobRow).where(
            DialJobRow.id == job.id, DialJobRow.state == "leased",
            DialJobRow.leased_by == worker,
        ).values(state="queued", run_after=run_after, lease_until=None, leased_by=None,
                 reason=reason and reason[:1024], updated_at=_now()))


def finish_unplaced(database: Database, job: LeasedJob, worker: str, outcome: str,
                    reason: str) -> None:
    """Give ``job`` its final ``outcome`` without a call (do-not-call, no calling hours)."""
    with database.session() as session:
        session.execute(update(DialJobRow).where(
            DialJobRow.id == job.id, DialJobRow.state == "leased",
            DialJobRow.leased_by == worker,
        ).values(state="done", outcome=outcome, reason=reason[:1024], lease_until=None,
                 updated_at=_now()))


# --- the calls-per-second budget ------------------------------------------------------------

def reserve_dial_slot(database: Database, account_sid: str, cps: float, *,
                      margin: float = 0.0, now: datetime | None = None) -> datetime:
    """The moment this worker may start its next call on ``account_sid``, reserved for it.

    One row per account holds the next free moment; it is read and moved on under a row lock,
    so slots are ``1/cps`` apart across every worker. ``margin`` widens the gap a little:
    requests reach Twilio with network jitter, and a one-second window measured there must
    still hold no more than ``cps`` calls.
    """
    interval = timedelta(seconds=(1.0 + margin) / cps)
    now = now or _now()
    insert = pg_insert if database.dialect == "postgresql" else sqlite_insert
    with database.session(serial=True) as session:
        session.execute(insert(DialBudgetRow).values(account_sid=account_sid, next_at=now)
                        .on_conflict_do_nothing(index_elements=["account_sid"]))
        row = session.execute(_locked(select(DialBudgetRow).where(
            DialBudgetRow.account_sid == account_sid), database, skip=False)).scalars().one()
        slot = max(now, row.next_at)
        row.next_at = slot + interval
        return slot


# --- attempts and their outcome -------------------------------------------------------------

def start_attempt(database: Database, job: LeasedJob, worker: str,
                  confirm_seconds: float) -> int | None:
    """Count and record the attempt about to be dialled; its number, or None when this worker
    lost the job (its lease ran out and another worker took it): then it must not dial.

    The lease now lasts ``confirm_seconds``, longer than Twilio's API may take to answer
    (the client's time-out) plus its first status callback: until the call is known, no
    other worker may take the job, or a slow API would have one contact called twice.
    """
    now = _now()
    with database.session() as session:
        taken = session.execute(update(DialJobRow).where(
            DialJobRow.id == job.id, DialJobRow.state == "leased",
            DialJobRow.leased_by == worker, DialJobRow.attempts == job.attempts,
        ).values(attempts=job.attempts + 1, answered_by=None, call_id=None, updated_at=now,
                 lease_until=now + timedelta(seconds=confirm_seconds))).rowcount
        if taken != 1:
            return None
        session.add(DialAttemptRow(job_id=job.id, attempt=job.attempts + 1, worker=worker,
                                   placed_at=now))
    return job.attempts + 1


def abandon_attempt(database: Database, job: LeasedJob, attempt: int, worker: str, *,
                    run_after: datetime, reason: str) -> None:
    """Take back an attempt counted but never dialled (the worker stopped, or the calling
    hours ended while it waited for its slot): the job is queued again as it was."""
    with database.session() as session:
        taken = session.execute(update(DialJobRow).where(
            DialJobRow.id == job.id, DialJobRow.state == "leased",
            DialJobRow.leased_by == worker, DialJobRow.attempts == attempt,
        ).values(state="queued", attempts=attempt - 1, run_after=run_after, lease_until=None,
                 leased_by=None, reason=reason[:1024], updated_at=_now())).rowcount
        if taken == 1:
            session.execute(delete(DialAttemptRow).where(
                DialAttemptRow.job_id == job.id, DialAttemptRow.attempt == attempt))


def attach_call(database: Database, job_id: int, attempt: int, call_sid: str,
                call_lease_seconds: float | None) -> None:
    """Note that attempt ``attempt`` of job ``job_id`` is call ``call_sid``, now in Twilio's
    hands: the job is ``calling`` until the call's final status (or, should that never come,
    until its lease passes and a worker asks Twilio). Idempotent: the worker and the call's
    first status callback both call it, whichever comes first. The worker sets the lease to
    ``call_lease_seconds``; a callback (None) keeps the lease the worker had, so a worker that
    died right after dialling has its call checked with Twilio soon after."""
    now = _now()
    values: dict[str, Any] = {"state": "calling", "call_id": call_sid, "updated_at": now}
    if call_lease_seconds is not None:
        values["lease_until"] = now + timedelta(seconds=call_lease_seconds)
    with database.session() as session:
        session.execute(update(DialJobRow).where(
            DialJobRow.id == job_id, DialJobRow.attempts == attempt,
            DialJobRow.state.in_(("leased", "calling")),
            (DialJobRow.call_id.is_(None)) | (DialJobRow.call_id == call_sid),
        ).values(values))
        session.execute(update(DialAttemptRow).where(
            DialAttemptRow.job_id == job_id, DialAttemptRow.attempt == attempt,
            DialAttemptRow.call_id.is_(None)).values(call_id=call_sid))


def _campaign_settings(session: Session, campaign_id: int) -> DiallingSettings:
    raw = session.scalar(select(DialCampaignRow.settings).where(
        DialCampaignRow.id == campaign_id)) or {}
    return DiallingSettings.model_validate(raw.get("dialling", {}))


def _retry_or_give_up(job: DialJobRow, settings: DiallingSettings, now: datetime,
                      reason: str) -> None:
    job.lease_until, job.leased_by, job.reason, job.updated_at = None, None, reason[:1024], now
    if job.attempts >= settings.max_attempts:
        job.state, job.outcome = "done", "unreachable"
        return
    wait = settings.retry_backoff_seconds * 2 ** max(job.attempts - 1, 0)
    due = next_calling_time(now + timedelta(seconds=wait), list(job.zones),
                            settings.calling_hours)
    if due is None:
        job.state, job.outcome = "done", "unreachable"
        return
    job.state, job.run_after, job.call_id = "queued", due, None


def _conversation_outcome(session: Session, call_sid: str) -> str:
    call = session.get(CallRow, call_sid)
    if call is None:
        return "talked"
    if call.bookings:
        return "booked"
    if (call.follow_ups or {}).get("do_not_call"):
        return "opted_out"
    return "talked"


# What a call that ended with no conversation recorded came to, by Twilio's final status, in
# the words of the calls' outcomes (agent.call_session.OUTCOMES, the queue's ``voicemail``):
# Twilio's "failed" and "canceled" are renamed, as those words already say what became of a
# booking.
UNTALKED_OUTCOMES = {"busy": "busy", "no-answer": "no_answer", "failed": "not_connected",
                     "canceled": "call_canceled"}


def unrecorded_outcome(session: Session, call: CallRow) -> str:
    """How an ended call with no conversation recorded went: ``voicemail`` when a machine
    answered the dialling queue's call, the outcome of Twilio's final status for a call
    nobody answered, else ``dropped`` (completed, but its pipeline never recorded it)."""
    answered = session.scalar(select(DialJobRow.answered_by).where(
        DialJobRow.call_id == call.id).limit(1))
    if answered in MACHINE_ANSWERS:
        return "voicemail"
    return UNTALKED_OUTCOMES.get(call.status, "dropped")


def settle_call(database: Database, call_sid: str, status: str, *,
                job_id: int | None = None, attempt: int | None = None,
                reason: str | None = None) -> str | None:
    """Apply a call's final Twilio ``status`` to its job; the job's new state, or None if the
    call belongs to no job (or an attempt already settled).

    ``completed`` ends the job: voicemail when a machine answered, else booked, opted out or
    talked from the call's record. ``busy``, ``no-answer``, ``failed`` and ``canceled`` queue
    the job again after the campaign's back-off, inside calling hours, until
    ``max_attempts`` calls were placed: then it is unreachable.
    """
    if status not in FINAL_STATUSES:
        return None
    now = _now()
    with database.session(serial=True) as session:
        if job_id is None:
            job = session.execute(_locked(select(DialJobRow).where(
                DialJobRow.call_id == call_sid), database, skip=False)).scalars().first()
        else:
            job = session.execute(_locked(select(DialJobRow).where(
                DialJobRow.id == job_id), database, skip=False)).scalars().first()
        if job is None:
            return None
        attempt = attempt if attempt is not None else job.attempts
        session.execute(update(DialAttemptRow).where(
            DialAttemptRow.job_id == job.id, DialAttemptRow.attempt == attempt,
            DialAttemptRow.status.is_(None),
        ).values(status=status, reason=reason and reason[:1024], ended_at=now,
                 call_id=call_sid))
        if job.state not in ("leased", "calling") or job.attempts != attempt \
                or job.call_id not in (None, call_sid):
            return None
        settings = _campaign_settings(session, job.campaign_id)
        if status == "completed":
            if job.answered_by in MACHINE_ANSWERS:
                outcome = "voicemail"
            else:
                outcome = _conversation_outcome(session, call_sid)
            job.state, job.outcome, job.call_id = "done", outcome, call_sid
            job.lease_until, job.updated_at = None, now
        else:
            _retry_or_give_up(job, settings, now, reason or f"call {status}")
        return job.state


def settle_not_placed(database: Database, job: LeasedJob, attempt: int, *, refused: bool,
                      reason: str) -> str:
    """Settle an attempt Twilio took no call for: a number it refuses ends the job
    (``invalid``); an outage or rate limit is retried like a busy line."""
    now = _now()
    with database.session(serial=True) as session:
        session.execute(update(DialAttemptRow).where(
            DialAttemptRow.job_id == job.id, DialAttemptRow.attempt == attempt,
        ).values(status="refused" if refused else "not_placed", reason=reason[:1024],
                 ended_at=now))
        row = session.get(DialJobRow, job.id)
        if row is None or row.state != "leased" or row.attempts != attempt:
            return row.state if row else "done"
        if refused:
            row.state, row.outcome, row.reason = "done", "invalid", reason[:1024]
            row.lease_until, row.updated_at = None, now
        else:
            _retry_or_give_up(row, job.settings, now, reason)
        return row.state


# --- answering machines ---------------------------------------------------------------------

def voicemail_twiml(message: str) -> str:
    """What Twilio plays into a voicemail box after the beep: the message, then hang up."""
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)


def voicemail_message(settings: dict[str, Any], recipient: Recipient, campaign: str) -> str:
    """The campaign's voicemail for ``recipient``: its template with the recipient's tokens,
    else the ``voicemail`` line of prompts."""
    dialling = DiallingSettings.model_validate(settings.get("dialling", {}))
    if dialling.voicemail_message:
        from calendar_backend.booking_settings import BookingSettings

        return BookingSettings().render(dialling.voicemail_message, recipient, campaign)
    return line("voicemail", first_name=recipient.first_name or "",
                agent_name=settings.get("agent_name", "Alex"),
                business_name=settings.get("business_name", "our team"))


def answered_by(database: Database, client: Client | None, call_sid: str, verdict: str, *,
                job_id: int | None = None) -> str:
    """Act on Twilio's asynchronous answering-machine verdict for ``call_sid``.

    A machine gets the campaign's voicemail message after the beep (the call's TwiML is
    replaced by ``<Say>`` and ``<Hangup>``) or is hung up on, as the campaign says; a human
    (or "unknown") goes on talking to the agent. Returns what was done: "voicemail",
    "hang_up", "conversation" or "unknown_call".
    """
    # Read then write: serial (on SQLite a deferred read cannot become a write once another
    # connection has committed).
    with database.session(serial=True) as session:
        query = select(DialJobRow).where(DialJobRow.call_id == call_sid) if job_id is None \
            else select(DialJobRow).where(DialJobRow.id == job_id)
        job = session.execute(query).scalars().first()
        if job is None:
            return "unknown_call"
        job.answered_by = verdict[:32]
        session.execute(update(DialAttemptRow).where(
            DialAttemptRow.job_id == job.id, DialAttemptRow.attempt == job.attempts,
        ).values(answered_by=verdict[:32]))
        campaign = session.get(DialCampaignRow, job.campaign_id)
        recipient = Recipient.model_validate(job.recipient)
    if verdict not in MACHINE_ANSWERS or campaign is None:
        return "conversation"
    settings = DiallingSettings.model_validate(campaign.settings.get("dialling", {}))
    if client is None:
        raise OutboundNotConfigured("answering machines need the Twilio account configured")
    if settings.on_machine == "hang_up" or verdict == "fax":
        client.calls(call_sid).update(status="completed")
        return "hang_up"
    message = voicemail_message(campaign.settings, recipient, campaign.name)
    client.calls(call_sid).update(twiml=voicemail_twiml(message))
    return "voicemail"


# --- calls whose end never arrived ----------------------------------------------------------

def check_stale_calls(database: Database, client: Client, config: DiallerConfig) -> int:
    """Ask Twilio about ``calling`` jobs whose call lease ran out (their final callback was
    lost); settle the ended ones, extend the others. Returns how many were settled."""
    now = _now()
    with database.session(serial=True) as session:
        stale = session.execute(_locked(select(
            DialJobRow.id, DialJobRow.call_id, DialJobRow.attempts).where(
            DialJobRow.state == "calling", DialJobRow.lease_until <= now).limit(20),
            database)).all()
        for job_id, _, _ in stale:
            # Held by this worker while it asks: no one else asks about the same call.
            session.execute(update(DialJobRow).where(DialJobRow.id == job_id).values(
                lease_until=now + timedelta(seconds=config.call_lease_seconds)))
    settled = 0
    for job_id, call_sid, attempt in stale:
        try:
            status = str(client.calls(call_sid).fetch().status)
        except (TwilioException, OSError) as exc:
            log.warning("could not ask Twilio about call %s: %s", call_sid, exc)
            continue
        if status in FINAL_STATUSES:
            # The attempt asked about, not the job's latest: should the call's own callback
            # have settled it meanwhile and a new attempt begun, this answer must not touch it.
            settled += settle_call(database, call_sid, status, job_id=job_id, attempt=attempt,
                                   reason=f"call {status} (asked Twilio)") is not None
    return settled


# --- the worker -----------------------------------------------------------------------------

@dataclass
class WorkerCounters:
    """What one worker did, for its metrics and its last log line."""

    placed: int = 0
    not_placed: int = 0
    outside_hours: int = 0
    do_not_call: int = 0


class DialWorker:
    """One ``booking-agent worker``: takes jobs and places their calls until stopped."""

    def __init__(self, database: Database, twilio: TwilioConfig, client: Client,
                 config: DiallerConfig, *, name: str | None = None,
                 on_placed: Callable[[str], None] | None = None) -> None:
        if not twilio.account_sid:
            raise OutboundNotConfigured("set BOOKING_AGENT_TWILIO_ACCOUNT_SID")
        self.database = database
        self.twilio = twilio
        self.client = client
        self.config = config
        self.name = name or worker_name()
        self.counters = WorkerCounters()
        self._on_placed = on_placed
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> WorkerCounters:
        """Dial until ``stop`` is set (jobs in hand are given back), then return the counts."""
        register_worker(self.database, self.name, stale_after=3 * self.config.heartbeat_seconds)
        self._warm_up()
        threads = [threading.Thread(target=self._loop, args=(stop, i), daemon=True,
                                    name=f"dial-{i}") for i in range(self.config.concurrency)]
        for thread in threads:
            thread.start()
        while not stop.wait(self.config.heartbeat_seconds):
            heartbeat(self.database, self.name)
        for thread in threads:
            thread.join()
        heartbeat(self.database, self.name, stopped=True)
        return self.counters

    def _warm_up(self) -> None:
        """Ask Twilio for the account once before the first call: a refused account stops the
        worker now (OutboundNotConfigured), and the client's lazily imported modules and its
        connection are ready, so the first calls leave on their slots instead of bunching up
        behind a slow first request."""
        _ = self.client.calls  # imports the Calls resource now, not inside the first slot
        try:
            check_account(self.client, self.twilio)
        except CallNotPlaced as exc:
            log.warning("worker %s: %s; dialling will retry", self.name, exc)

    def _loop(self, stop: threading.Event, index: int) -> None:
        next_check = _now()
        while not stop.is_set():
            try:
                if index == 0 and _now() >= next_check:
                    next_check = _now() + timedelta(seconds=self.config.poll_seconds * 5)
                    check_stale_calls(self.database, self.client, self.config)
                job = claim_job(self.database, self.name, self.config.lease_seconds)
                if job is None:
                    stop.wait(self.config.poll_seconds)
                    continue
                self.dial(job, stop)
            except OutboundNotConfigured as exc:
                log.error("worker %s stops: %s", self.name, exc)
                stop.set()
            except Exception:  # a database blip must not end the worker: log, wait, go on
                log.exception("worker %s: dialling step failed; retrying", self.name)
                stop.wait(self.config.poll_seconds)

    def _count(self, field: str) -> None:
        with self._lock:
            setattr(self.counters, field, getattr(self.counters, field) + 1)

    def _may_dial(self, job: LeasedJob) -> bool:
        """Calling hours and the do-not-call list, checked right before dialling; a job that
        may not be dialled now is given back (later) or finished."""
        now = _now()
        if not within_hours(now, job.zones, job.settings.calling_hours):
            due = next_calling_time(now, job.zones, job.settings.calling_hours)
            self._count("outside_hours")
            if due is None:
                finish_unplaced(self.database, job, self.name, "unreachable",
                                "no hour inside the calling hours in every zone of the number")
            else:
                release(self.database, job, self.name, run_after=due,
                        reason="outside calling hours")
            return False
        if is_listed(self.database, job.phone, organisation_id=job.organisation_id):
            self._count("do_not_call")
            finish_unplaced(self.database, job, self.name, "opted_out",
                            "on the do-not-call list")
            return False
        return True

    def dial(self, job: LeasedJob, stop: threading.Event) -> None:
        """Place the call of a leased job, within the account's calls-per-second budget.

        Slots are ``(1 + margin) / cps`` apart, so any one second holds at most ``cps`` calls
        as long as each request reaches Twilio less than ``margin`` seconds after its slot.
        Everything but the request itself (the attempt counted, the lease held) is done
        before the wait, and a worker that wakes more than ``margin / 2`` late (a busy host)
        takes a new slot rather than send late and bunch with the next slot's call.
        """
        if not self._may_dial(job):
            return
        if job.attempts >= job.settings.max_attempts:  # the campaign's limit was lowered
            finish_unplaced(self.database, job, self.name, "unreachable",
                            f"{job.attempts} attempts made")
            return
        assert self.twilio.account_sid is not None
        slot = reserve_dial_slot(self.database, self.twilio.account_sid, self.config.cps,
                                 margin=self.config.cps_margin)
        hold = max(0.0, (slot - _now()).total_seconds()) + self.config.confirm_seconds
        attempt = start_attempt(self.database, job, self.name, hold)
        if attempt is None:
            return
        tolerance = self.config.cps_margin / 2
        while True:
            wait = (slot - _now()).total_seconds()
            if wait > 0 and stop.wait(wait):
                abandon_attempt(self.database, job, attempt, self.name, run_after=_now(),
                                reason="worker stopped before dialling")
                return
            if (_now() - slot).total_seconds() <= tolerance:
                break
            slot = reserve_dial_slot(self.database, self.twilio.account_sid, self.config.cps,
                                     margin=self.config.cps_margin)
            extend_lease(self.database, job, self.name,
                         slot + timedelta(seconds=self.config.confirm_seconds))
        # The wait may have crossed the end of the calling hours.
        now = _now()
        if not within_hours(now, job.zones, job.settings.calling_hours):
            due = next_calling_time(now, job.zones, job.settings.calling_hours)
            abandon_attempt(self.database, job, attempt, self.name, run_after=due or now,
                            reason="outside calling hours")
            return
        try:
            sid = create_call(
                self.client, self.twilio, self.database, job.campaign, job.phone,
                job.from_number, recipient=job.recipient, detect_machines=True,
                callback_query={"job": str(job.id), "attempt": str(attempt)},
                organisation_id=job.organisation_id)
        except CallNotPlaced as exc:
            self._count("not_placed")
            settle_not_placed(self.database, job, attempt, refused=False, reason=str(exc))
            return
        except TwilioRestException as exc:
            self._count("not_placed")
            settle_not_placed(self.database, job, attempt, refused=True,
                              reason=f"Twilio refused the call ({exc.status}): {exc.msg}")
            return
        attach_call(self.database, job.id, attempt, sid, self.config.call_lease_seconds)
        self._count("placed")
        if self._on_placed is not None:
            self._on_placed(job.campaign)


# --- what the call server hears -------------------------------------------------------------

def note_dial_status(database: Database, call_sid: str, status: str,
                     reference: DialReference | None) -> None:
    """A status callback of any call: a call of the dialling queue is attached to its job (the
    first callback may arrive before the worker noted the call) or, on its final status,
    settles the job. Calls of no job are left alone."""
    if reference is not None and status not in FINAL_STATUSES:
        attach_call(database, reference.job, reference.attempt, call_sid, None)
    elif status in FINAL_STATUSES:
        settle_call(database, call_sid, status,
                    job_id=reference.job if reference else None,
                    attempt=reference.attempt if reference else None)


def answered_machine_or_human(database: Database, twilio: TwilioConfig, call_sid: str,
                              verdict: str, reference: DialReference | None) -> str:
    """The call server's side of an answering-machine verdict (see :func:`answered_by`); a
    Twilio error (the call already ended) is logged, never raised at Twilio."""
    from telephony.outbound import twilio_client

    try:
        client = twilio_client(twilio)
        return answered_by(database, client, call_sid, verdict,
                           job_id=reference.job if reference else None)
    except (TwilioException, OSError, OutboundNotConfigured) as exc:
        log.warning("could not act on the answering-machine verdict for %s: %s", call_sid, exc)
        return "failed"


def queue_idle(database: Database) -> bool:
    """Whether no running campaign has a contact left to finish (nothing queued, leased or
    in a call)."""
    with database.session() as session:
        left = session.scalar(select(func.count()).select_from(DialJobRow).join(
            DialCampaignRow, DialCampaignRow.id == DialJobRow.campaign_id).where(
            DialCampaignRow.state == "running", DialJobRow.state != "done"))
    return not left
