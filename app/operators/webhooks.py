"""Webhooks: an organisation's endpoints, events put in a database outbox, and delivery.

Each event is stored once with an id (receivers drop repeats by it) and one delivery row per
endpoint that wants its type. A delivery worker takes due rows (leasing them, so several
servers never send one twice at the same time: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
serialising transaction on SQLite), POSTs the event signed, and on failure tries again with
exponential back-off until 24 hours after the event, then marks it failed. Everything is in
the database, so deliveries survive a restart. Deliveries go out side by side, so their
order is not promised (a receiver orders by the payload's ``created_at``).

The signature header is ``Booking-Agent-Signature: t=<unix seconds>,v1=<hex>``, the
HMAC-SHA256 with the endpoint's secret over ``"<t>.<body>"`` (:func:`verify_signature`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import httpx
from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python
from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session

from app.operators.accounts import Organisation
from app.operators.calls import BookingView
from calendar_backend.outlook.sync import SyncResult
from calendar_backend.sql_store import booking_record
from calendar_backend.token_store import TokenCipher
from storage.base import utc_now
from storage.booking_tables import BookingRow
from storage.call_tables import UNANNOUNCED, CallRow
from storage.database import Database
from storage.webhook_tables import WebhookDeliveryRow, WebhookEndpointRow, WebhookEventRow
from telephony.call_records import EndedCall
from telephony.dialling import unrecorded_outcome

log = logging.getLogger(__name__)

EventType = Literal["booking.created", "booking.moved", "booking.cancelled", "call.ended"]
EVENT_TYPES: tuple[str, ...] = ("booking.created", "booking.moved", "booking.cancelled",
                                "call.ended")
SIGNATURE_HEADER = "Booking-Agent-Signature"
GIVE_UP_AFTER = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
# A taken delivery is someone's for this long: past it (the sender died), it is due again.
LEASE = timedelta(seconds=60)
SEND_TIMEOUT_SECONDS = 10.0
BATCH = 20
# A recorded call unannounced this long was left by a crash (the live path announces at once);
# so was a call that ended without ever streaming (no pipeline will record it).
ANNOUNCE_AFTER = timedelta(seconds=10)
# A call that streamed but has no record yet when Twilio says it ended may still have a live
# pipeline finishing its last turn (a reply or calendar call in flight) before it records and
# announces: the sweep says it dropped only once no live pipeline could still be at it.
DROPPED_AFTER = timedelta(minutes=2)
# A call whose announcing raised (bad stored data) waits this long, doubling per failure up to
# LONGEST_WAIT, so the calls behind it go out meanwhile.
RETRY_ANNOUNCING = timedelta(minutes=1)
ANNOUNCE_EVERY_SECONDS = 30.0


@dataclass(frozen=True)
class Endpoint:
    """A registered webhook URL (never its secret)."""

    id: str
    url: str
    events: list[str]
    created_at: datetime


class Delivery(BaseModel):
    """One delivery of one event to one endpoint, as the delivery log shows it: pending
    (with when it is tried next), delivered or failed."""

    model_config = ConfigDict(frozen=True)

    id: str
    event_id: str
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value signing ``body`` at ``timestamp`` with ``secret``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: datetime | None = None,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret``, made within ``tolerance`` of now
    (what a receiver checks; an old signature is a replay)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    moment = (now or utc_now()).timestamp()
    if abs(moment - timestamp) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header.strip())


def _endpoint(row: WebhookEndpointRow) -> Endpoint:
    return Endpoint(row.id, row.url, list(row.events), row.created_at)


def register(
    database: Database, cipher: TokenCipher, organisation: Organisation, url: str,
    events: Sequence[str],
) -> tuple[Endpoint, str]:
    """A new endpoint for ``events``; returns it and its signing secret (shown only now)."""
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    with database.session() as session:
        row = WebhookEndpointRow(id=str(uuid.uuid4()), organisation_id=organisation.id,
                                 url=url, events=sorted(set(events)),
                                 secret=cipher.encrypt(secret), created_at=utc_now())
        session.add(row)
        session.flush()
        return _endpoint(row), secret


def endpoints(database: Database, organisation: Organisation) -> list[Endpoint]:
    """The organisation's endpoints, oldest first."""
    with database.session() as session:
        rows = session.scalars(select(WebhookEndpointRow).where(
            WebhookEndpointRow.organisation_id == organisation.id
        ).order_by(WebhookEndpointRow.created_at))
        return [_endpoint(row) for row in rows]


def remove(database: Database, organisation: Organisation, endpoint_id: str) -> bool:
    """Remove an endpoint (its pending deliveries go with it); False if there is none."""
    with database.session() as session:
        row = session.scalars(select(WebhookEndpointRow).where(
            WebhookEndpointRow.id == endpoint_id,
            WebhookEndpointRow.organisation_id == organisation.id)).first()
        if row is None:
            return False
        session.delete(row)
        return True


def deliveries(
    database: Database, organisation: Organisation, endpoint_id: str, limit: int = 100
) -> list[Delivery] | None:
    """The endpoint's delivery log, newest first; ``None`` if the organisation has no such
    endpoint."""
    with database.session() as session:
        owned = session.scalars(select(WebhookEndpointRow.id).where(
            WebhookEndpointRow.id == endpoint_id,
            WebhookEndpointRow.organisation_id == organisation.id)).first()
        if owned is None:
            return None
        rows = session.execute(
            select(WebhookDeliveryRow, WebhookEventRow.type)
            .join(WebhookEventRow, WebhookEventRow.id == WebhookDeliveryRow.event_id)
            .where(WebhookDeliveryRow.endpoint_id == endpoint_id)
            .order_by(WebhookEventRow.created_at.desc()).limit(limit))
        return [Delivery(id=d.id, event_id=d.event_id, event_type=kind, state=d.state,
                         attempts=d.attempts, next_attempt_at=d.next_attempt_at,
                         last_attempt_at=d.last_attempt_at, last_status_code=d.last_status_code,
                         last_error=d.last_error, delivered_at=d.delivered_at)
                for d, kind in rows]


def booking_event(status: str, moved: bool) -> EventType | None:
    """The event a call's booking in ``status`` makes known (none for failed attempts)."""
    if status == "cancelled":
        return "booking.cancelled"
    if status == "confirmed":
        return "booking.moved" if moved else "booking.created"
    return None


def booking_payload(booking: BookingView) -> dict[str, Any]:
    """What a booking event says about the booking: as ``GET /bookings/{id}`` shows it."""
    return booking.model_dump(mode="json")


def emit(
    database: Database, organisation_id: str, kind: EventType, data: dict[str, Any]
) -> str:
    """Put an event in the outbox for every endpoint of the organisation that wants it;
    returns the event's id."""
    with database.session() as session:
        return emit_in(session, organisation_id, kind, data)


def emit_in(session: Session, organisation_id: str, kind: EventType,
            data: dict[str, Any]) -> str:
    """:func:`emit` inside ``session``'s transaction (the event is written with whatever else
    it commits, or not at all)."""
    event_id = str(uuid.uuid4())
    now = utc_now()
    session.add(WebhookEventRow(id=event_id, organisation_id=organisation_id, type=kind,
                                payload=data, created_at=now))
    session.flush()
    wanted = session.scalars(select(WebhookEndpointRow).where(
        WebhookEndpointRow.organisation_id == organisation_id))
    for endpoint in wanted:
        if kind in endpoint.events:
            session.add(WebhookDeliveryRow(
                id=str(uuid.uuid4()), event_id=event_id, endpoint_id=endpoint.id,
                state="pending", attempts=0, next_attempt_at=now))
    return event_id


def announce_call_ended(database: Database, ended: EndedCall, *, recorded: bool = True) -> bool:
    """Tell an organisation's webhooks about a call once it has ended: each booking it
    made, moved or cancelled, then ``call.ended`` (with its duration as stored). A campaign
    file's call (no organisation) has no webhooks.

    Exactly once: the call is claimed (``announced_at``) with a conditional UPDATE in the
    transaction that writes its events, so of any announcers racing (the live path, sweeps
    on several servers) one writes them; False for the others. A call announced though not
    ``recorded`` (nobody answered, or its pipeline died) keeps ``ended.outcome`` as its own;
    its claim fails if the record came meanwhile (the next sweep announces that instead).
    """
    claim = update(CallRow).where(CallRow.id == ended.call_id, CallRow.announced_at.is_(None))
    if not recorded:
        claim = claim.where(CallRow.outcome.is_(None)).values(outcome=ended.outcome)
    with database.session(serial=True) as session:
        claimed = session.execute(claim.values(announced_at=utc_now()))
        if claimed.rowcount != 1:
            return False
        if ended.organisation_id is None:
            return True
        for booking, moved in ended.booked:
            kind = booking_event(booking.status, moved)
            if kind is not None:
                emit_in(session, ended.organisation_id, kind,
                        booking_payload(BookingView.of(booking)))
        duration = session.scalar(select(CallRow.duration_seconds).where(
            CallRow.id == ended.call_id))
        # A phone call's transcript carries datetimes: the payload is stored as JSON.
        emit_in(session, ended.organisation_id, "call.ended", to_jsonable_python({
            "call_id": ended.call_id, "campaign": ended.campaign, "outcome": ended.outcome,
            "duration_seconds": duration, "bookings": ended.bookings,
            "transcript": ended.transcript}))
    return True


def _stored_ended_call(session: Session, row: CallRow) -> EndedCall:
    """The call as the live path would have announced it, from what is stored: its record,
    and its bookings as they stand (whether the call moved one is in the record). A call
    with no record gets the outcome of how it ended, an empty transcript and the bookings
    its pipeline made before it died."""
    moved = {item.get("id") for item in row.bookings if item.get("moved")}
    bookings = session.scalars(select(BookingRow).where(
        BookingRow.call_id == row.id, BookingRow.hold_of.is_(None),
    ).order_by(BookingRow.start, BookingRow.created_at))
    return EndedCall(
        call_id=row.id, campaign=row.campaign, organisation_id=row.organisation_id,
        outcome=row.outcome or unrecorded_outcome(session, row), transcript=row.transcript,
        bookings=row.bookings,
        booked=[(booking_record(b), b.id in moved) for b in bookings])


def announce_ended_calls(
    database: Database, *, now: datetime | None = None,
    older_than: timedelta = ANNOUNCE_AFTER, limit: int = BATCH,
) -> int:
    """Announce organisations' ended calls the live path did not: recorded at least
    ``older_than`` ago but never announced (the process died between the two), never
    answered, or left with no record by a pipeline that died (after :data:`DROPPED_AFTER`);
    returns how many this sweep announced.

    The live path announces within moments of recording, so the wait lets it win; reads the
    oldest ``limit`` (the partial index holds only such calls: campaign files' calls and
    calls still going are never read). Each call is announced on its own: one that cannot be
    is put off (:func:`_put_off`) and the others go out.
    """
    moment = now or utc_now()
    with database.session() as session:
        due = list(session.scalars(select(CallRow.id).where(
            text(UNANNOUNCED), CallRow.ended_at <= moment - older_than,
            or_(CallRow.outcome.is_not(None), CallRow.stream_started_at.is_(None),
                CallRow.ended_at <= moment - DROPPED_AFTER),
            or_(CallRow.announce_after.is_(None), CallRow.announce_after <= moment),
        ).order_by(CallRow.ended_at).limit(limit)))
    announced = 0
    for call_id in due:
        try:
            announced += _announce_stored(database, call_id)
        except Exception as exc:  # bad stored data: this call waits, the others go out
            _put_off(database, call_id, moment, exc)
    if announced:  # routine for unanswered calls, so not a warning
        log.info("announced %d ended call(s) the live path did not", announced)
    return announced


def _announce_stored(database: Database, call_id: str) -> bool:
    """Announce one ended call from what is stored of it."""
    with database.session() as session:
        row = session.get_one(CallRow, call_id)
        recorded = row.outcome is not None
        ended = _stored_ended_call(session, row)
    return announce_call_ended(database, ended, recorded=recorded)


def _put_off(database: Database, call_id: str, now: datetime, error: Exception) -> None:
    """Try announcing ``call_id`` again later, waiting longer after each failure; logged
    with the error's kind only (the stored data it choked on may be personal)."""
    with database.session() as session:
        failures = 1 + (session.scalar(select(CallRow.announce_failures).where(
            CallRow.id == call_id)) or 0)
        retry_at = now + min(RETRY_ANNOUNCING * 2 ** (failures - 1), LONGEST_WAIT)
        session.execute(update(CallRow).where(CallRow.id == call_id).values(
            announce_failures=failures, announce_after=retry_at))
    log.error("could not announce call %s (%s, failure %d); trying again after %s",
              call_id, type(error).__name__, failures, retry_at.isoformat())


async def keep_calls_announced(
    database: Database, stop: asyncio.Event, *, every_seconds: float = ANNOUNCE_EVERY_SECONDS,
) -> None:
    """Announce ended calls the live path did not, from start-up on and every
    ``every_seconds`` until ``stop`` is set (a background task of the call server)."""
    while not stop.is_set():
        try:
            while await asyncio.to_thread(announce_ended_calls, database) == BATCH:
                pass  # a full batch: there may be more
        except Exception:  # a database hiccup must not end the sweep for good
            log.exception("announcing recorded calls failed; trying again shortly")
        try:
            await asyncio.wait_for(stop.wait(), every_seconds)
        except TimeoutError:
            pass


def announce_owner_changes(database: Database, result: SyncResult) -> None:
    """Tell organisations' webhooks about bookings a calendar sync found the owner had
    cancelled (``booking.cancelled``) or moved (``booking.moved``); a booking belongs to the
    organisation of the call that made it."""
    changed = [(booking_id, "booking.cancelled") for booking_id in result.cancelled] + \
        [(booking_id, "booking.moved") for booking_id in result.moved]
    for booking_id, kind in changed:
        with database.session() as session:
            found = session.execute(
                select(BookingRow, CallRow.organisation_id)
                .join(CallRow, CallRow.id == BookingRow.call_id)
                .where(BookingRow.id == booking_id)).first()
            if found is None or found[1] is None:
                continue  # a campaign file's booking: no organisation, no webhooks
            view, organisation_id = BookingView.model_validate(found[0]), found[1]
        emit(database, organisation_id, cast(EventType, kind), booking_payload(view))


@dataclass(frozen=True)
class _Due:
    delivery_id: str
    url: str
    secret: bytes
    body: bytes
    event_id: str
    event_type: str
    event_created_at: datetime
    attempts: int


def _take_due(database: Database, now: datetime, limit: int) -> list[_Due]:
    """Lease up to ``limit`` due deliveries to this sender."""
    query = (select(WebhookDeliveryRow, WebhookEventRow, WebhookEndpointRow)
             .join(WebhookEventRow, WebhookEventRow.id == WebhookDeliveryRow.event_id)
             .join(WebhookEndpointRow, WebhookEndpointRow.id == WebhookDeliveryRow.endpoint_id)
             .where(WebhookDeliveryRow.state == "pending",
                    WebhookDeliveryRow.next_attempt_at <= now)
             .order_by(WebhookDeliveryRow.next_attempt_at).limit(limit))
    if database.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDeliveryRow)
    taken = []
    with database.session(serial=True) as session:
        for delivery, event, endpoint in session.execute(query):
            delivery.next_attempt_at = now + LEASE
            body = json.dumps({"id": event.id, "type": event.type,
                               "created_at": event.created_at.isoformat(),
                               "data": event.payload}, separators=(",", ":")).encode()
            taken.append(_Due(delivery.id, endpoint.url, endpoint.secret, body, event.id,
                              event.type, event.created_at, delivery.attempts))
    return taken


def _record(database: Database, due: _Due, now: datetime, status: int | None,
            error: str | None) -> None:
    attempts = due.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_attempt_at": now,
                              "last_status_code": status, "last_error": error}
    if error is None:
        values |= {"state": "delivered", "delivered_at": now}
    else:
        wait = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)
        retry_at = now + wait
        if retry_at - due.event_created_at > GIVE_UP_AFTER:
            values["state"] = "failed"
        values["next_attempt_at"] = retry_at
    with database.session() as session:
        session.execute(update(WebhookDeliveryRow).where(
            WebhookDeliveryRow.id == due.delivery_id).values(**values))


async def deliver_due(
    database: Database, cipher: TokenCipher, client: httpx.AsyncClient, *,
    now: datetime | None = None, limit: int = BATCH,
) -> int:
    """Send the deliveries due at ``now``; returns how many were attempted."""
    moment = now or utc_now()
    due = await asyncio.to_thread(_take_due, database, moment, limit)

    async def send(item: _Due) -> None:
        secret = cipher.decrypt(item.secret)
        headers = {"Content-Type": "application/json", "Booking-Agent-Event": item.event_id,
                   "Booking-Agent-Event-Type": item.event_type,
                   SIGNATURE_HEADER: sign(secret, int(moment.timestamp()), item.body)}
        status: int | None = None
        try:
            answer = await client.post(item.url, content=item.body, headers=headers,
                                       timeout=SEND_TIMEOUT_SECONDS)
            status = answer.status_code
            error = None if 200 <= status < 300 else f"answered {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: could not reach the endpoint"
        if error is not None:
            log.info("webhook delivery %s to %s failed: %s", item.delivery_id, item.url, error)
        await asyncio.to_thread(_record, database, item, moment, status, error)

    await asyncio.gather(*(send(item) for item in due))
    return len(due)


async def keep_delivering(
    database: Database, cipher: TokenCipher, stop: asyncio.Event, *,
    poll_seconds: float = 2.0,
) -> None:
    """Deliver due webhooks until ``stop`` is set (a background task of the server)."""
    async with httpx.AsyncClient(follow_redirects=False) as client:
        while not stop.is_set():
            try:
                sent = await deliver_due(database, cipher, client)
            except Exception:  # a database hiccup must not end deliveries for good
                log.exception("webhook deliveries failed; trying again shortly")
                sent = 0
            if sent < BATCH:
                try:
                    await asyncio.wait_for(stop.wait(), poll_seconds)
                except TimeoutError:
                    pass
