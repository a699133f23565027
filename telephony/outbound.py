"""Outbound calls: placing one call, and dialling a campaign's contact list at a pace.

Each contact of a campaign is one row with a unique (campaign, phone) pair. The dialler
claims a row (pending → dialling, a compare-and-set update) before it places the call,
so a stopped and resumed dialler, or two running at once, never call anyone twice. A row
left in ``dialling`` by a crash is not redialled: it may have rung. A call Twilio never took
(its API unreachable, 5xx, 429, the account refused) puts the row back to ``pending`` with
the attempt counted and ends the run: the next contact would meet the same outage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from agent.campaign import Campaign
from calendar_backend.booking_settings import Recipient
from caller_language.phone_numbers import e164
from storage.call_tables import DialContactRow
from storage.database import Database
from telephony.call_records import record_call_started
from telephony.config import TwilioConfig
from telephony.signatures import public_request_url

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
# Seconds any one request to Twilio's API may take (DiallerConfig.confirm_seconds is longer).
API_TIMEOUT_SECONDS = 15.0
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Twilio answers these for the account or the request rate, not for the number called.
_NOT_THE_NUMBERS_FAULT = {401, 403, 404, 429}


class OutboundNotConfigured(ValueError):
    """A setting or campaign field that placing calls needs is missing."""


class CallNotPlaced(Exception):
    """Twilio did not take the call for a reason that is not the contact's: its API could not
    be reached or answered 5xx, 429 (too many requests) or refused the account. Nothing rang,
    so the contact can be called again."""


class _ApiBaseHttpClient(TwilioHttpClient):
    """The twilio client's HTTP client, sending its requests to the configured API base."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=API_TIMEOUT_SECONDS)
        self._base = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
        if url.startswith(TWILIO_API):
            url = self._base + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


def twilio_client(twilio: TwilioConfig) -> Client:
    """A Twilio REST client for the configured account and API base URL."""
    if not twilio.account_sid or twilio.auth_token is None:
        raise OutboundNotConfigured(
            "set BOOKING_AGENT_TWILIO_ACCOUNT_SID and BOOKING_AGENT_TWILIO_AUTH_TOKEN")
    # A time-out on every request: an API call that hangs must not hold a dialling job
    # past the lease that keeps other workers from calling the same contact.
    http_client = TwilioHttpClient(timeout=API_TIMEOUT_SECONDS)
    if twilio.api_url.rstrip("/") != TWILIO_API:
        http_client = _ApiBaseHttpClient(twilio.api_url)
    return Client(twilio.account_sid, twilio.auth_token.get_secret_value(),
                  http_client=http_client)


def caller_id(twilio: TwilioConfig, campaign: Campaign, from_number: str | None) -> str:
    """The number calls for ``campaign`` come from, once everything placing them needs is set.

    Raises :class:`OutboundNotConfigured` naming what is missing, so a dialler checks this
    before it touches any contact.
    """
    if not twilio.public_url:
        raise OutboundNotConfigured(
            "set BOOKING_AGENT_PUBLIC_URL: Twilio fetches the call's instructions from it")
    if from_number is not None:
        try:
            return e164(from_number)
        except ValueError as exc:
            raise OutboundNotConfigured(f"--from {from_number!r}: {exc}") from None
    if not campaign.phone_numbers:
        raise OutboundNotConfigured(
            f"campaign {campaign.name!r} lists no phone_numbers to call from; pass --from")
    return campaign.phone_numbers[0]


def check_account(client: Client, twilio: TwilioConfig) -> None:
    """Ask Twilio for the account calls are placed from, before a dialler touches any contact.

    Raises :class:`OutboundNotConfigured` when Twilio refuses the account sid and token or
    the account is not active, and :class:`CallNotPlaced` when its API is out.
    """
    try:
        account = client.api.v2010.accounts(twilio.account_sid).fetch()
    except TwilioRestException as exc:
        if exc.status in (401, 403, 404):
            raise OutboundNotConfigured(
                f"Twilio refused account {twilio.account_sid} ({exc.status}: {exc.msg}): check "
                "BOOKING_AGENT_TWILIO_ACCOUNT_SID and BOOKING_AGENT_TWILIO_AUTH_TOKEN") from None
        raise CallNotPlaced(f"the Twilio API answered {exc.status}: {exc.msg}") from exc
    except OSError as exc:
        raise CallNotPlaced(
            f"cannot reach the Twilio API at {twilio.api_url} ({type(exc).__name__})") from exc
    if account.status != "active":
        raise OutboundNotConfigured(
            f"Twilio account {twilio.account_sid} is {account.status}: it cannot place calls")


def place_call(
    client: Client, twilio: TwilioConfig, database: Database, campaign: Campaign, to: str,
    *, from_number: str | None = None, recipient: Recipient | None = None,
) -> str:
    """Dial ``to`` for ``campaign``; Twilio fetches the TwiML from this server's webhook.

    Returns the call's sid. The call is recorded (outbound, queued) before it rings.
    Raises :class:`CallNotPlaced` when Twilio's API is unreachable, overloaded or refuses the
    account, and ``TwilioRestException`` when Twilio refuses this call (e.g. the number).
    """
    our_number = caller_id(twilio, campaign, from_number)
    return create_call(client, twilio, database, campaign.name, to, our_number,
                       recipient=recipient)


def create_call(
    client: Client, twilio: TwilioConfig, database: Database, campaign_name: str, to: str,
    our_number: str, *, recipient: Recipient | None = None,
    callback_query: dict[str, str] | None = None, detect_machines: bool = False,
    organisation_id: str | None = None,
) -> str:
    """Ask Twilio to call ``to`` from ``our_number``, and record the call (outbound, queued).

    ``callback_query`` is added to the status (and answering-machine) callback URLs, so any
    call server receiving them knows which dialling job the call belongs to. With
    ``detect_machines`` Twilio runs asynchronous answering-machine detection until the
    greeting ends and posts its verdict to /twilio/amd while the call goes on.
    Raises as :func:`place_call`.
    """
    if not twilio.public_url:
        raise OutboundNotConfigured(
            "set BOOKING_AGENT_PUBLIC_URL: Twilio fetches the call's instructions from it")
    query = {"campaign": campaign_name}
    if organisation_id is not None:
        # An organisation's campaign is known by name only within it (Twilio signs the URL).
        query["organisation"] = organisation_id
    if recipient is not None and recipient.first_name:
        query["name"] = " ".join(p for p in (recipient.first_name, recipient.last_name) if p)
    voice_url = public_request_url(twilio.public_url, "/twilio/voice", urlencode(query))
    extra = urlencode(callback_query or {})
    amd: dict[str, str] = {}
    if detect_machines:
        amd = {"machine_detection": "DetectMessageEnd", "async_amd": "true",
               "async_amd_status_callback":
                   public_request_url(twilio.public_url, "/twilio/amd", extra),
               "async_amd_status_callback_method": "POST"}
    try:
        call = client.calls.create(
            to=to, from_=our_number, url=voice_url, method="POST",
            status_callback=public_request_url(twilio.public_url, "/twilio/status", extra),
            status_callback_method="POST", status_callback_event=STATUS_EVENTS, **amd,
        )
    except TwilioRestException as exc:
        if exc.status >= 500 or exc.status in _NOT_THE_NUMBERS_FAULT:
            raise CallNotPlaced(f"the Twilio API answered {exc.status}: {exc.msg}") from exc
        raise
    except OSError as exc:  # requests' connection errors: nothing reached Twilio
        raise CallNotPlaced(
            f"cannot reach the Twilio API at {twilio.api_url} ({type(exc).__name__})") from exc
    record_call_started(database, call.sid, campaign=campaign_name, direction="outbound",
                        caller_number=to, our_number=our_number, status="queued",
                        organisation_id=organisation_id)
    return str(call.sid)


def add_contacts(database: Database, campaign: str, contacts: list[Recipient]) -> int:
    """Add contacts to the campaign's dial list; ones already there are left as they are.

    Returns how many were new.
    """
    if not contacts:
        return 0
    insert = pg_insert if database.dialect == "postgresql" else sqlite_insert
    values = [{"campaign": campaign, "phone": c.phone, "recipient": c.model_dump(),
               "state": "pending"} for c in contacts]
    with database.session(serial=True) as session:
        before = _count(session, campaign)
        session.execute(insert(DialContactRow).values(values).on_conflict_do_nothing(
            index_elements=["campaign", "phone"]))
        return _count(session, campaign) - before


def _count(session, campaign: str) -> int:  # noqa: ANN001
    return session.scalar(
        select(func.count()).select_from(DialContactRow)
        .where(DialContactRow.campaign == campaign)) or 0


@dataclass(frozen=True)
class ClaimedContact:
    """A contact this dialler has claimed and must now call (or mark failed)."""

    id: int
    phone: str
    recipient: Recipient


def claim_next(database: Database, campaign: str) -> ClaimedContact | None:
    """Claim the next pending contact (pending → dialling), or None when none is left.

    The update only succeeds while the row is still pending, so two diallers never
    claim the same contact. Contacts with fewer attempts come first, so one that keeps
    meeting an outage does not hold up the rest of the list.
    """
    while True:
        # serial: on SQLite the write lock is taken at BEGIN, so the read-then-update
        # cannot deadlock against another dialler's; on PostgreSQL the WHERE arbitrates.
        with database.session(serial=True) as session:
            row = session.execute(
                select(DialContactRow.id, DialContactRow.phone, DialContactRow.recipient)
                .where(DialContactRow.campaign == campaign, DialContactRow.state == "pending")
                .order_by(DialContactRow.attempts, DialContactRow.id).limit(1)).first()
            if row is None:
                return None
            claimed = session.execute(
                update(DialContactRow)
                .where(DialContactRow.id == row.id, DialContactRow.state == "pending")
                .values(state="dialling", claimed_at=datetime.now(UTC),
                        attempts=DialContactRow.attempts + 1)).rowcount
        if claimed == 1:
            return ClaimedContact(row.id, row.phone, Recipient.model_validate(row.recipient))


def _finish(database: Database, contact_id: int, *, call_id: str | None,
            error: str | None) -> None:
    with database.session() as session:
        session.execute(update(DialContactRow).where(DialContactRow.id == contact_id).values(
            state="failed" if error else "dialled", call_id=call_id,
            error=error and error[:1024]))


def _release(database: Database, contact_id: int, reason: str) -> None:
    # Back to the list: the call was never placed, so calling again calls nobody twice.
    with database.session() as session:
        session.execute(update(DialContactRow).where(
            DialContactRow.id == contact_id, DialContactRow.state == "dialling",
        ).values(state="pending", error=reason[:1024]))


@dataclass
class DialReport:
    """What one dialling run did."""

    dialled: list[tuple[str, str]]  # (phone, call sid)
    failed: list[tuple[str, str]]  # (phone, reason)
    stopped: bool = False
    # The contact whose call Twilio never took, back on the list, and why; the run ended there.
    not_placed: tuple[str, str] | None = None


async def dial_campaign(
    database: Database, campaign: Campaign, *, place: Callable[[ClaimedContact], str],
    pace_seconds: float, stop: asyncio.Event | None = None,
) -> DialReport:
    """Call every pending contact of ``campaign``, one every ``pace_seconds``.

    ``place`` places one call and returns its sid (blocking; run in a thread). Setting
    ``stop`` ends the run after the call in progress; running again resumes. A call that
    could not be placed (:class:`CallNotPlaced`, :class:`OutboundNotConfigured`) returns
    its contact to the list and ends the run (``report.not_placed``).
    """
    stop = stop or asyncio.Event()
    report = DialReport([], [])
    first = True
    while not stop.is_set():
        if not first:
            try:
                await asyncio.wait_for(stop.wait(), pace_seconds)
                break  # stopped while waiting
            except TimeoutError:
                pass
        contact = await asyncio.to_thread(claim_next, database, campaign.name)
        if contact is None:
            return report
        first = False
        try:
            sid = await asyncio.to_thread(place, contact)
        except (CallNotPlaced, OutboundNotConfigured) as exc:
            await asyncio.to_thread(_release, database, contact.id, str(exc))
            report.not_placed = (contact.phone, str(exc))
            log.warning("could not call %s, returned to the list: %s", contact.phone, exc)
            return report
        except (TwilioException, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            await asyncio.to_thread(_finish, database, contact.id, call_id=None, error=reason)
            report.failed.append((contact.phone, reason))
            log.warning("could not call %s: %s", contact.phone, reason)
            continue
        await asyncio.to_thread(_finish, database, contact.id, call_id=sid, error=None)
        report.dialled.append((contact.phone, sid))
    report.stopped = True
    return report


def dial_list(database: Database, campaign: str) -> list[DialContactRow]:
    """The campaign's contacts and what became of calling them, in list order."""
    with database.session() as session:
        return list(session.scalars(select(DialContactRow).where(
            DialContactRow.campaign == campaign).order_by(DialContactRow.id)).all())
