"""The emulator's world: accounts, calendars, events, tokens, faults and the request log.

All of it is guarded by one lock, because tests change it from their own thread while the
server thread answers requests.
"""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

CLIENT_ID = "1234567890-emulator.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-emulator-secret"

# Which OAuth scopes let a request through, per kind of request (from the API reference).
_FULL = "https://www.googleapis.com/auth/calendar"
_READONLY = _FULL + ".readonly"
_EVENTS = _FULL + ".events"
SCOPES_FOR = {
    "calendarList": {_FULL, _READONLY, _FULL + ".calendarlist",
                     _FULL + ".calendarlist.readonly"},
    "freeBusy": {_FULL, _READONLY, _FULL + ".freebusy", _FULL + ".events.freebusy"},
    "events.read": {_FULL, _READONLY, _EVENTS, _EVENTS + ".readonly", _EVENTS + ".owned",
                    _EVENTS + ".owned.readonly"},
    "events.write": {_FULL, _EVENTS, _EVENTS + ".owned"},
}


@dataclass
class Calendar:
    """One calendar on an account's calendar list."""

    id: str
    summary: str
    time_zone: str
    primary: bool = False
    access_role: str = "owner"
    meet: bool = True


@dataclass
class StoredEvent:
    """An event as Google holds it; ``data`` is the resource minus start/end."""

    id: str
    calendar_id: str
    start: datetime
    end: datetime
    data: dict[str, Any]
    # Who was told what: ("insert" | "patch" | "delete", sendUpdates) per write.
    notifications: list[tuple[str, str]] = field(default_factory=list)
    pending_gets: int = 0  # gets left before a pending conference is created
    seq: int = 0  # the world's change counter when the event last changed (sync tokens)

    @property
    def cancelled(self) -> bool:
        return self.data.get("status") == "cancelled"


@dataclass
class Account:
    """A Google account with its calendars."""

    email: str
    display_name: str
    subject: str
    calendars: list[Calendar]
    events: dict[tuple[str, str], StoredEvent] = field(default_factory=dict)  # (cal, id)
    granted_scopes: set[str] = field(default_factory=set)

    def calendar(self, calendar_id: str) -> Calendar | None:
        """A calendar by id; ``primary`` and the account's address name the primary one."""
        for cal in self.calendars:
            if cal.id == calendar_id or (calendar_id == "primary" and cal.primary):
                return cal
        return None


@dataclass
class Channel:
    """A push-notification channel (events.watch) on one calendar."""

    id: str
    resource_id: str
    email: str
    calendar_id: str
    address: str
    token: str | None
    expiration: datetime
    message_number: int = 0


@dataclass
class PushRecord:
    """One notification the emulator posted (or would have, when blocked)."""

    channel_id: str
    state: str  # "sync" or "exists"
    status: int | None  # the receiver's answer (None: blocked or unreachable)


@dataclass
class AuthCode:
    code: str
    email: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    offline: bool
    issued: datetime
    used: bool = False


@dataclass
class Token:
    value: str
    email: str
    scope: str
    expires: datetime
    revoked: bool = False


@dataclass
class RequestRecord:
    """One request the emulator answered."""

    service: str  # "calendar" or "oauth"
    method: str
    path: str  # without the /calendar/v3 prefix for the Calendar API
    query: dict[str, str]
    status: int
    account: str | None
    body: Any
    reason: str | None = None  # errors[0].reason (or the OAuth error) of an error answer


@dataclass
class FaultPlan:
    """Transient faults injected into Calendar API requests (seeded, so runs repeat).

    ``rate`` of requests are refused before being processed with a rate-limit answer drawn
    from ``kinds``: ``"429"`` (RESOURCE_EXHAUSTED, rateLimitExceeded), ``"403"``
    (rateLimitExceeded) or ``"403user"`` (userRateLimitExceeded). ``lost_rate`` of writes
    are processed and then their answer is lost: the connection drops mid-response.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "403", "403user")
    lost_rate: float = 0.0
    seed: int = 0


@dataclass
class ScriptedFault:
    """The next matching Calendar API request gets this fault."""

    kind: str  # a FaultPlan kind, "lost", or an HTTP status as text ("500", "503")
    method: str | None = None
    path_contains: str | None = None
    skip: int = 0  # let this many matching requests through first


def new_subject() -> str:
    """A Google account id (21 digits)."""
    return str(secrets.randbelow(10**21)).zfill(21)


class World:
    """Everything the emulator knows, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self.accounts: dict[str, Account] = {}
        self.next_sign_in: str | None = None
        self.deny_consent = False
        # Scopes the owner unticks on the granular consent screen.
        self.withheld_scopes: set[str] = set()
        self.codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.access_token_lifetime = 3599
        self.token_faults: list[int] = []
        self.faults = FaultPlan()
        self.random = random.Random(0)
        self.scripted: list[ScriptedFault] = []
        self.conference_pending_gets = 0
        self.log: list[RequestRecord] = []
        # Incremental sync: every event change takes the next number; a sync token names the
        # number it was issued at and the generation (bumped to expire every token: 410).
        self.seq = 0
        self.sync_generation = 0
        self.channels: dict[str, Channel] = {}
        self.stopped_channels: list[Channel] = []  # what apps stopped, oldest first
        self.notifications_blocked = False
        self.outbox: list[tuple[Channel, str, int]] = []
        self.pushes: list[PushRecord] = []

    def sync_token(self, calendar_id: str, seq: int) -> str:
        """A token for the changes after ``seq`` to the calendar's events."""
        text = f"{self.sync_generation}|{seq}|{calendar_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def changed(self, account: Account, ev: StoredEvent) -> None:
        """Record a change to ``ev`` (caller holds the lock): it gets the next sequence
        number, and every channel watching its calendar is due a notification."""
        self.seq += 1
        ev.seq = self.seq
        for channel in self.channels.values():
            if channel.email == account.email.lower() and channel.calendar_id == ev.calendar_id \
                    and channel.expiration > datetime.now(UTC):
                channel.message_number += 1
                self.outbox.append((channel, "exists", channel.message_number))

    def add_account(self, email: str, *, display_name: str | None = None,
                    time_zone: str = "America/Los_Angeles", extra_calendars: tuple[str, ...] = (),
                    meet: bool = True) -> Account:
        """Register an account with its primary calendar (plus ``extra_calendars``)."""
        calendars = [Calendar(email, email, time_zone, primary=True, meet=meet)]
        for name in extra_calendars:
            digest = hashlib.sha1(f"{email}/{name}".encode()).hexdigest()[:26]
            calendars.append(Calendar(f"c_{digest}@group.calendar.google.com", name, time_zone,
                                      meet=meet))
        account = Account(email=email, display_name=display_name or email.split("@")[0].title(),
                          subject=new_subject(), calendars=calendars)
        with self.lock:
            self.accounts[email.lower()] = account
        return account

    def account(self, email: str) -> Account:
        """The account registered under ``email``."""
        return self.accounts[email.lower()]

    def issue(self, email: str, scope: str, *, with_refresh: bool) -> tuple[Token, Token | None]:
        """A new access token (and refresh token) for ``email``."""
        now = datetime.now(UTC)
        at = Token("ya29.a0" + secrets.token_urlsafe(40), email, scope,
                   now + timedelta(seconds=self.access_token_lifetime))
        self.access_tokens[at.value] = at
        rt = None
        if with_refresh:
            rt = Token("1//0" + secrets.token_urlsafe(48), email, scope, now + timedelta(days=180))
            self.refresh_tokens[rt.value] = rt
        return at, rt

    def revoke_grant(self, email: str) -> None:
        """The owner removed the app's access: every token of ``email`` stops working."""
        for token in [*self.access_tokens.values(), *self.refresh_tokens.values()]:
            if token.email == email.lower():
                token.revoked = True
        self.account(email).granted_scopes.clear()

    def draw_fault(self, method: str, path: str) -> str | None:
        """The fault kind for this request, if any."""
        for i, fault in enumerate(self.scripted):
            if fault.method and fault.method != method:
                continue
            if fault.path_contains and fault.path_contains not in path:
                continue
            if fault.skip:
                fault.skip -= 1
                continue
            del self.scripted[i]
            return fault.kind
        plan = self.faults
        if plan.rate and self.random.random() < plan.rate:
            return self.random.choice(plan.kinds)
        if plan.lost_rate and method in ("POST", "PATCH", "DELETE") and path != "/freeBusy" \
                and self.random.random() < plan.lost_rate:
            return "lost"
        return None
