"""The emulator process: one uvicorn server on 127.0.0.1 serving Calendar v3 and Google OAuth."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tests.fakes.google import calendar_api, oauth
from tests.fakes.google.state import (
    Account,
    Channel,
    FaultPlan,
    PushRecord,
    RequestRecord,
    ScriptedFault,
    StoredEvent,
    World,
)
from tests.fakes.loopback import LoopbackEmulator


class GoogleEmulator(LoopbackEmulator[World]):
    """Calendar API v3 and Google's OAuth endpoints, served on ``127.0.0.1:<port>``.

    ``calendar_base_url``, ``auth_url``, ``token_url`` and ``revoke_url`` are what the
    product's four settings point at. Everything else is a knob or an inspection helper.
    """

    def __init__(self, port: int = 0) -> None:
        world = World()
        super().__init__(world, (calendar_api.router(world), oauth.router(world)), port,
                         "google-emulator")

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def calendar_base_url(self) -> str:
        return f"{self.base_url}/calendar/v3"

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/o/oauth2/v2/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.base_url}/revoke"

    # --- accounts and consent -----------------------------------------------------------
    def add_account(self, email: str, **kwargs: Any) -> Account:
        """Register an account; see ``World.add_account``."""
        return self.world.add_account(email, **kwargs)

    def withhold_scopes(self, *scopes: str) -> None:
        """The owner unticks these scopes on the consent screen of later sign-ins."""
        with self.world.lock:
            self.world.withheld_scopes = set(scopes)

    def revoke_grant(self, email: str) -> None:
        """The owner removed the app's access: refreshes answer ``invalid_grant``."""
        with self.world.lock:
            self.world.revoke_grant(email)

    def expire_access_tokens(self, email: str) -> None:
        """Make the access tokens already issued to ``email`` unacceptable to the API."""
        with self.world.lock:
            for token in self.world.access_tokens.values():
                if token.email == email.lower():
                    token.revoked = True

    def fail_token_requests(self, status: int, times: int = 1) -> None:
        """The next ``times`` token requests answer ``status`` (e.g. 503)."""
        with self.world.lock:
            self.world.token_faults.extend([status] * times)

    # --- API faults ---------------------------------------------------------------------
    def set_faults(self, plan: FaultPlan) -> None:
        """Inject random rate-limit answers and lost responses from now on."""
        with self.world.lock:
            self.world.faults = plan
            self.world.random = random.Random(plan.seed)

    def queue_fault(self, kind: str, *, method: str | None = None,
                    path_contains: str | None = None, skip: int = 0) -> None:
        """The next matching API request gets ``kind``: ``"429"``, ``"403"``, ``"403user"``,
        ``"500"``, ``"503"`` (refused unprocessed) or ``"lost"`` (processed, answer lost)."""
        with self.world.lock:
            self.world.scripted.append(ScriptedFault(kind, method, path_contains, skip))

    def conference_pending_for(self, gets: int) -> None:
        """New Meet conferences stay "pending" until their event has been read ``gets`` times."""
        with self.world.lock:
            self.world.conference_pending_gets = gets

    # --- calendar contents --------------------------------------------------------------
    def add_event(self, email: str, start: datetime, end: datetime, *,
                  summary: str = "Busy", transparent: bool = False,
                  calendar_id: str | None = None, declined: bool = False) -> str:
        """An event the owner made in Google Calendar; returns its id.

        ``transparent`` shows the owner as free; ``declined`` is an invitation they declined.
        """
        with self.world.lock:
            account = self.world.account(email)
            cal = account.calendar(calendar_id or "primary")
            assert cal is not None, "no such calendar"
            event_id = secrets.token_hex(13)
            data: dict[str, Any] = {"kind": "calendar#event", "id": event_id,
                                    "status": "confirmed", "summary": summary,
                                    "organizer": {"email": "someone@example.com"}
                                    if declined else {"email": cal.id, "self": True}}
            if transparent:
                data["transparency"] = "transparent"
            if declined:
                data["attendees"] = [{"email": account.email, "self": True,
                                      "responseStatus": "declined"}]
            event = StoredEvent(event_id, cal.id, start, end, data)
            account.events[(cal.id, event_id)] = event
            self.world.changed(account, event)
        calendar_api.deliver(self.world)
        return event_id

    def _owner_change(self, email: str, event_id: str, change: Callable[[StoredEvent], None],
                      ) -> None:
        with self.world.lock:
            account = self.world.account(email)
            [event] = [e for e in account.events.values() if e.id == event_id]
            change(event)
            event.data["updated"] = calendar_api.stamp()
            event.data["sequence"] = int(event.data.get("sequence", 0)) + 1
            self.world.changed(account, event)
        calendar_api.deliver(self.world)

    def owner_deletes(self, email: str, event_id: str) -> None:
        """The owner deleted the event in Google Calendar (it becomes "cancelled")."""
        self._owner_change(email, event_id, lambda e: e.data.update(status="cancelled"))

    def owner_moves(self, email: str, event_id: str, start: datetime, end: datetime) -> None:
        """The owner dragged the event to ``[start, end)`` in Google Calendar."""
        def move(event: StoredEvent) -> None:
            event.start, event.end = start, end
        self._owner_change(email, event_id, move)

    def attendee_declines(self, email: str, event_id: str, attendee: str) -> None:
        """``attendee`` declined the invitation to the owner's event."""
        def decline(event: StoredEvent) -> None:
            for guest in event.data.get("attendees", []):
                if guest["email"].lower() == attendee.lower():
                    guest["responseStatus"] = "declined"
        self._owner_change(email, event_id, decline)

    # --- incremental sync and push channels ------------------------------------------------
    def expire_sync_tokens(self) -> None:
        """Every sync token issued so far answers 410 ``fullSyncRequired`` from now on."""
        with self.world.lock:
            self.world.sync_generation += 1

    def block_notifications(self, blocked: bool = True) -> None:
        """Notifications stop reaching the receivers (recorded, never posted)."""
        with self.world.lock:
            self.world.notifications_blocked = blocked

    def channels(self, email: str | None = None) -> list[Channel]:
        """The live channels (of ``email``'s calendars, if given)."""
        with self.world.lock:
            return [c for c in self.world.channels.values()
                    if email is None or c.email == email.lower()]

    def stopped_channels(self, email: str | None = None) -> list[Channel]:
        """The channels the app stopped (``channels.stop``), oldest first."""
        with self.world.lock:
            return [c for c in self.world.stopped_channels
                    if email is None or c.email == email.lower()]

    def pushes(self) -> list[PushRecord]:
        """The notifications sent (or blocked) so far, oldest first."""
        with self.world.lock:
            return list(self.world.pushes)

    def events(self, email: str, *, include_cancelled: bool = False) -> list[StoredEvent]:
        """The account's events, ordered by start."""
        with self.world.lock:
            events = list(self.world.account(email).events.values())
        return sorted((e for e in events if include_cancelled or not e.cancelled),
                      key=lambda e: (e.start, e.id))

    # --- request log --------------------------------------------------------------------
    def requests(self, service: str = "calendar", *, method: str | None = None,
                 path_contains: str | None = None) -> list[RequestRecord]:
        """Logged requests, oldest first, filtered by service, method and path."""
        with self.world.lock:
            log = list(self.world.log)
        return [r for r in log if r.service == service
                and (method is None or r.method == method)
                and (path_contains is None or path_contains in r.path)]

    def clear_log(self) -> None:
        """Forget the requests seen so far."""
        with self.world.lock:
            self.world.log.clear()


__all__ = ["FaultPlan", "GoogleEmulator"]
