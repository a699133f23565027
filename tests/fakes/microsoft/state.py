"""The emulator's world: accounts, mailboxes, tokens, events, faults and the request log.

All of it is guarded by one lock, because tests change it from their own thread while the
server thread answers requests.
"""

from __future__ import annotations

import base64
import random
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

# A client connection as the server sees it: (host, port), or None when unknown.
Connection = tuple[str, int] | None

PERSONAL_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
CLIENT_ID = "00000000-0000-0000-0000-00000000b00c"
CLIENT_SECRET = "emulator-secret"


def new_item_id() -> str:
    """An Exchange-looking item id (base64 text starting with AAMk)."""
    return "AAMk" + base64.b64encode(secrets.token_bytes(36)).decode().replace("/", "-")


@dataclass
class Calendar:
    """One calendar of a mailbox."""

    id: str
    name: str
    is_default: bool = False
    can_edit: bool = True
    allowed_providers: list[str] = field(default_factory=lambda: ["teamsForBusiness"])

    @property
    def default_provider(self) -> str:
        return self.allowed_providers[0] if self.allowed_providers else "unknown"


@dataclass
class StoredEvent:
    """An event as the mailbox holds it; ``data`` is the Graph JSON minus start/end."""

    id: str
    calendar_id: str
    start: datetime
    end: datetime
    start_zone: str
    end_zone: str
    data: dict[str, Any]
    deleted: bool = False
    cancel_comment: str | None = None


@dataclass
class RefreshFailure:
    """What the token endpoint answers instead of refreshing (an AADSTS failure)."""

    error: str
    code: int
    suberror: str | None = None


@dataclass
class Account:
    """A Microsoft account with its mailbox."""

    username: str
    display_name: str
    personal: bool
    tenant_id: str
    object_id: str
    graph_id: str
    time_zone: str | None
    calendars: list[Calendar]
    events: dict[str, StoredEvent] = field(default_factory=dict)
    transactions: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (event, body)
    granted_scopes: set[str] = field(default_factory=set)
    refresh_failure: RefreshFailure | None = None
    mailbox_enabled: bool = True
    in_flight: int = 0
    # Retry-After windows announced to this mailbox: (announced at, until) in monotonic
    # seconds, and the connection (client address) the announcement went out on.
    holds: list[tuple[float, float, Connection]] = field(default_factory=list)

    def calendar(self, calendar_id: str | None) -> Calendar | None:
        """A calendar by id, or the default calendar for ``None``."""
        for cal in self.calendars:
            if (calendar_id is None and cal.is_default) or cal.id == calendar_id:
                return cal
        return None


@dataclass
class AuthCode:
    code: str
    username: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    nonce: str | None
    issued: datetime
    used: bool = False


@dataclass
class Token:
    value: str
    username: str
    scope: str
    expires: datetime
    revoked: bool = False


@dataclass
class RequestRecord:
    """One request the emulator answered."""

    service: str  # "graph" or "login"
    method: str
    path: str  # without the /v1.0 prefix for Graph
    query: dict[str, str]
    status: int
    mailbox: str | None
    body: Any
    code: str | None = None  # error.code of an error answer


@dataclass
class FaultPlan:
    """Transient faults injected into Graph requests (seeded, so runs repeat).

    ``rate`` of requests are answered with one of ``statuses`` before being processed;
    ``lost_rate`` of writes are processed and then answered 504, as if the response was
    lost on the way back. Retry-After is drawn from ``retry_after`` (seconds, fractional),
    given as an HTTP date for ``http_date_share`` of them.
    """

    rate: float = 0.0
    statuses: tuple[int, ...] = (429, 503)
    retry_after: tuple[float, float] | None = (0.05, 0.3)
    http_date_share: float = 0.0
    lost_rate: float = 0.0
    seed: int = 0


@dataclass
class ScriptedFault:
    """The next matching Graph request gets this answer instead of being processed."""

    status: int
    code: str
    retry_after: str | None = None
    method: str | None = None
    path_contains: str | None = None
    after_processing: bool = False
    skip: int = 0  # let this many matching requests through first


class World:
    """Everything the emulator knows, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self.accounts: dict[str, Account] = {}
        self.next_sign_in: str | None = None
        self.deny_consent = False
        self.admin_consent_required = False
        self.codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.access_token_lifetime = 3599
        # (status, Retry-After, JSON error body or plain text as a proxy might answer)
        self.token_faults: list[tuple[int, str | None, bool]] = []
        self.faults = FaultPlan()
        self.random = random.Random(0)
        self.scripted: list[ScriptedFault] = []
        self.latency = 0.0
        self.mailbox_concurrency = 4
        self.concurrency_retry_after = "0.1"
        self.log: list[RequestRecord] = []
        # Requests that reached a mailbox inside a Retry-After window announced to it.
        self.early: list[RequestRecord] = []
        # Delta rounds, subscriptions and the notifications delivered.
        from tests.fakes.microsoft.changes import Changes

        self.changes = Changes()

    def add_account(
        self,
        username: str,
        *,
        personal: bool = False,
        display_name: str | None = None,
        time_zone: str | None = "Pacific Standard Time",
        extra_calendars: tuple[str, ...] = (),
        teams: bool | None = None,
    ) -> Account:
        """Register an account with a default calendar (plus ``extra_calendars``)."""
        if personal:
            tenant = PERSONAL_TENANT
            object_id = "00000000-0000-0000-" + secrets.token_hex(2) + "-" + secrets.token_hex(6)
            graph_id = secrets.token_hex(8)
            providers = ["skypeForConsumer"]
        else:
            tenant = str(uuid.uuid5(uuid.NAMESPACE_DNS, username.split("@")[-1]))
            object_id = str(uuid.uuid4())
            graph_id = object_id
            providers = ["teamsForBusiness"]
        if teams is not None:
            fallback = ["skypeForConsumer"] if personal else []
            providers = ["teamsForBusiness"] if teams else fallback
        calendars = [Calendar(new_item_id(), "Calendar", True, True, list(providers))]
        calendars += [Calendar(new_item_id(), name, False, True, list(providers))
                      for name in extra_calendars]
        account = Account(
            username=username,
            display_name=display_name or username.split("@")[0].title(),
            personal=personal,
            tenant_id=tenant,
            object_id=object_id,
            graph_id=graph_id,
            time_zone=time_zone,
            calendars=calendars,
        )
        with self.lock:
            self.accounts[username.lower()] = account
        return account

    def announce_hold(self, account: Account, retry_after: str, now: float,
                      connection: Connection) -> None:
        """Record that ``account``'s mailbox was told ``Retry-After: retry_after`` at ``now``."""
        try:
            seconds = float(retry_after)
        except ValueError:
            when = parsedate_to_datetime(retry_after)
            seconds = (when - datetime.now(UTC)).total_seconds()
        account.holds.append((now, now + max(0.0, seconds), connection))

    def inside_hold(self, account: Account, arrived: float, connection: Connection) -> bool:
        """Whether a request sent after the client read a ``Retry-After`` ignores its window.

        HTTP/1.1 carries one exchange at a time per connection, so a request arriving on the
        connection that carried the announcement was sent after the client had read it: no
        clock has to guess what the client knew. (A request on another connection may have
        left before the announcement arrived; it is not counted.)
        """
        return connection is not None and any(
            announced <= arrived < until and on == connection
            for announced, until, on in account.holds)

    def account(self, username: str) -> Account:
        """The account registered under ``username``."""
        return self.accounts[username.lower()]

    def issue_tokens(self, username: str, scope: str) -> tuple[Token, Token]:
        """A new access token and refresh token for ``username``."""
        now = datetime.now(UTC)
        at = Token("eyJ0eXAi.at." + secrets.token_urlsafe(24), username, scope,
                   now + timedelta(seconds=self.access_token_lifetime))
        rt = Token("0.rt." + secrets.token_urlsafe(32), username, scope,
                   now + timedelta(days=90))
        self.access_tokens[at.value] = at
        self.refresh_tokens[rt.value] = rt
        return at, rt

    def draw_fault(self, method: str, path: str) -> tuple[ScriptedFault | None, bool]:
        """The fault for this request, if any, and whether it applies after processing."""
        for i, fault in enumerate(self.scripted):
            if fault.method and fault.method != method:
                continue
            if fault.path_contains and fault.path_contains not in path:
                continue
            if fault.skip:
                fault.skip -= 1
                continue
            del self.scripted[i]
            return fault, fault.after_processing
        plan = self.faults
        if plan.rate and self.random.random() < plan.rate:
            status = self.random.choice(plan.statuses)
            return ScriptedFault(status, _FAULT_CODES[status], self._retry_after()), False
        if plan.lost_rate and method in ("POST", "PATCH", "DELETE") \
                and self.random.random() < plan.lost_rate:
            lost = ScriptedFault(504, _FAULT_CODES[504], self._retry_after(),
                                 after_processing=True)
            return lost, True
        return None, False

    def _retry_after(self) -> str | None:
        plan = self.faults
        if plan.retry_after is None:
            return None
        seconds = self.random.uniform(*plan.retry_after)
        if plan.http_date_share and self.random.random() < plan.http_date_share:
            from email.utils import format_datetime

            # HTTP dates have whole seconds: round up so the wait is never shorter.
            when = datetime.now(UTC) + timedelta(seconds=seconds + 1)
            return format_datetime(when.replace(microsecond=0), usegmt=True)
        return f"{seconds:.3f}"


_FAULT_CODES = {
    429: "TooManyRequests",
    503: "ServiceNotAvailable",
    504: "GatewayTimeout",
    500: "InternalServerError",
}
