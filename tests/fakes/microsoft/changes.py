"""Following a calendar's changes: ``calendarView/delta`` and change-notification subscriptions.

Delta: a first request (``startDateTime``/``endDateTime``) returns every event of the window;
its pages are chained by ``@odata.nextLink`` (``$skiptoken``), page size from
``Prefer: odata.maxpagesize=N`` (default 10), and the last page carries
``@odata.deltaLink`` (``$deltatoken``). A later request with that link returns only what
changed since: new or changed events in full, and ``{"id", "@removed": {"reason":
"deleted"}}`` for events deleted or moved out of the window. A token the test expired
(``MicrosoftEmulator.expire_delta_tokens``) answers 410 ``syncStateNotFound``.

Subscriptions: ``POST /subscriptions`` first POSTs ``notificationUrl?validationToken=...``
(``text/plain``) and requires the token echoed in plain text within 10 s, else 400; then
every change to the subscribed resource is POSTed to ``notificationUrl`` as Graph does
(``{"value": [{subscriptionId, clientState, changeType, resource, resourceData, ...}]}``),
unless the test blocked notifications. ``PATCH`` renews (new ``expirationDateTime``),
``DELETE`` removes. Lifecycle notifications are sent on the test's demand.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.fakes.microsoft.state import StoredEvent

VALIDATION_TIMEOUT = 10.0
# Outlook event subscriptions live at most 10,080 minutes (just under 7 days).
MAX_SUBSCRIPTION_MINUTES = 10_080
_MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


def fingerprint(event: StoredEvent) -> str:
    """What a delta round compares: an event changed iff its fingerprint did."""
    text = json.dumps([event.start.isoformat(), event.end.isoformat(), event.deleted,
                       event.data], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class DeltaRound:
    """A delta sync under way or done: its window and what it had seen at its start."""

    username: str
    calendar_id: str
    start: datetime
    end: datetime
    seen: dict[str, str]  # event id -> fingerprint, as of the round's start
    pending: list[dict[str, Any]] = field(default_factory=list)  # items left to page out
    expired: bool = False


@dataclass
class Subscription:
    """A change-notification subscription of one mailbox."""

    id: str
    username: str
    resource: str
    change_type: set[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: datetime
    calendar_id: str | None  # None: every calendar of the mailbox (``me/events``)


@dataclass
class Delivery:
    """One notification POSTed to an app, and what the app answered."""

    url: str
    payload: dict[str, Any]
    status: int | None  # None: the app did not answer


class Changes:
    """Delta rounds, subscriptions and notification delivery of one emulator world."""

    def __init__(self) -> None:
        self.rounds: dict[str, DeltaRound] = {}  # skip/delta token -> round
        self.subscriptions: dict[str, Subscription] = {}
        self.deleted: list[Subscription] = []  # what apps deleted, oldest first
        self.blocked = False
        self.deliveries: list[Delivery] = []
        self.background: list[threading.Thread] = []

    # --- delta --------------------------------------------------------------------------
    @staticmethod
    def page_size(prefer: str) -> int:
        """The page size asked for with ``Prefer: odata.maxpagesize=N`` (10 by default)."""
        match = _MAXPAGESIZE.search(prefer)
        return max(1, min(1000, int(match.group(1)))) if match else 10

    def begin(self, username: str, calendar_id: str, start: datetime, end: datetime,
              items: list[dict[str, Any]], now_seen: dict[str, str]) -> DeltaRound:
        """A first round: every event of the window is a change."""
        return DeltaRound(username, calendar_id, start, end, now_seen, list(items))

    def page(self, round_: DeltaRound, size: int, link_base: str) -> dict[str, Any]:
        """The next page of ``round_``: a nextLink while items remain, else a deltaLink."""
        page, round_.pending = round_.pending[:size], round_.pending[size:]
        body: dict[str, Any] = {"value": page}
        token = secrets.token_urlsafe(24)  # URL-safe: Graph's links carry "$" unescaped
        self.rounds[token] = round_
        if round_.pending:
            body["@odata.nextLink"] = f"{link_base}?$skiptoken={token}"
        else:
            body["@odata.deltaLink"] = f"{link_base}?$deltatoken={token}"
        return body

    def expire(self, username: str) -> int:
        """Make every delta/skip token of ``username`` answer 410; returns how many."""
        count = 0
        for round_ in self.rounds.values():
            if round_.username == username and not round_.expired:
                round_.expired = True
                count += 1
        return count

    # --- subscriptions ------------------------------------------------------------------
    def matching(self, username: str, calendar_id: str) -> list[Subscription]:
        """Live subscriptions of ``username`` covering events of ``calendar_id``."""
        now = datetime.now(UTC)
        return [s for s in self.subscriptions.values()
                if s.username == username and s.expiration > now
                and (s.calendar_id is None or s.calendar_id == calendar_id)]

    def notification(self, sub: Subscription, change: str, event_id: str,
                     tenant_id: str) -> dict[str, Any]:
        """One change notification as Graph POSTs it."""
        return {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": _graph_instant(sub.expiration),
            "changeType": change,
            "resource": f"Users/{sub.username}/Events/{event_id}",
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event",
                             "@odata.id": f"Users/{sub.username}/Events/{event_id}",
                             "@odata.etag": f'W/"{secrets.token_hex(8)}"', "id": event_id},
            "clientState": sub.client_state,
            "tenantId": tenant_id,
        }

    def deliver(self, url: str, notifications: list[dict[str, Any]]) -> Delivery:
        """POST ``{"value": notifications}`` to ``url`` and record the answer."""
        payload = {"value": notifications}
        try:
            answer = httpx.post(url, json=payload, timeout=10.0)
            status: int | None = answer.status_code
        except httpx.HTTPError:
            status = None
        delivery = Delivery(url, payload, status)
        self.deliveries.append(delivery)
        return delivery

    def deliver_later(self, url: str, notifications: list[dict[str, Any]]) -> None:
        """Deliver from a thread (a change made by a Graph request must not wait for it)."""
        thread = threading.Thread(target=self.deliver, args=(url, notifications), daemon=True)
        self.background = [t for t in self.background if t.is_alive()]
        self.background.append(thread)
        thread.start()


async def validate_endpoint(url: str) -> str | None:
    """Graph's handshake: POST ``url?validationToken=...``; ``None`` if the echo came back in
    plain text within 10 s, else why not."""
    token = f"Validation: Testing client application reachability for subscription " \
            f"Request-Id: {uuid.uuid4()}"
    try:
        async with httpx.AsyncClient(timeout=VALIDATION_TIMEOUT) as http:
            answer = await http.post(url, params={"validationToken": token},
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
    except httpx.HTTPError as exc:
        return f"the notification URL did not answer ({type(exc).__name__})"
    if answer.status_code != 200:
        return f"the notification URL answered {answer.status_code}"
    if not answer.headers.get("content-type", "").startswith("text/plain"):
        return "the validation answer was not text/plain"
    if answer.text != token:
        return "the validation answer did not echo the token"
    return None


def parse_expiration(text: Any) -> datetime | None:
    """An ``expirationDateTime`` as Graph reads it (``None`` if unreadable)."""
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def longest_expiration() -> datetime:
    """The latest ``expirationDateTime`` an Outlook event subscription may have now."""
    return datetime.now(UTC) + timedelta(minutes=MAX_SUBSCRIPTION_MINUTES)


def _graph_instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


graph_instant = _graph_instant
