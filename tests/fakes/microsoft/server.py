"""The emulator process: one uvicorn server on 127.0.0.1 serving Graph and the login endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.loopback import LoopbackEmulator
from tests.fakes.microsoft import graph, identity
from tests.fakes.microsoft.changes import Delivery, Subscription, graph_instant
from tests.fakes.microsoft.state import (
    Account,
    FaultPlan,
    RefreshFailure,
    RequestRecord,
    ScriptedFault,
    StoredEvent,
    World,
    new_item_id,
)


class MicrosoftEmulator(LoopbackEmulator[World]):
    """Graph v1.0 and the Microsoft identity platform, served on ``127.0.0.1:<port>``.

    ``graph_base_url`` and ``login_url`` are what the product's two settings point at.
    Everything else is a knob or an inspection helper for tests.
    """

    def __init__(self, port: int = 0) -> None:
        world = World()
        super().__init__(world, (graph.router(world), identity.router(world)), port, "ms-emulator")

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def graph_base_url(self) -> str:
        return f"{self.base_url}/v1.0"

    @property
    def login_url(self) -> str:
        return self.base_url

    # --- accounts -----------------------------------------------------------------------
    def add_account(self, username: str, **kwargs: Any) -> Account:
        """Register a work (default) or ``personal=True`` account; see ``World.add_account``."""
        return self.world.add_account(username, **kwargs)

    def fail_refresh(self, username: str, error: str = "invalid_grant", code: int = 700082,
                     suberror: str | None = None) -> None:
        """Answer every refresh of ``username`` with ``error`` / ``AADSTS<code>``."""
        with self.world.lock:
            self.world.account(username).refresh_failure = RefreshFailure(error, code, suberror)

    def heal_refresh(self, username: str) -> None:
        """Let ``username``'s refreshes succeed again."""
        with self.world.lock:
            self.world.account(username).refresh_failure = None

    def revoke_consent(self, username: str) -> None:
        """Withdraw every scope the user granted (refresh then needs consent: AADSTS65001)."""
        with self.world.lock:
            self.world.account(username).granted_scopes.clear()

    def expire_access_tokens(self, username: str) -> None:
        """Make the access tokens already issued to ``username`` unacceptable to Graph."""
        with self.world.lock:
            for token in self.world.access_tokens.values():
                if token.username == username.lower():
                    token.revoked = True

    def fail_token_requests(self, status: int, retry_after: str | None = None,
                            times: int = 1, *, as_json: bool = True) -> None:
        """The next ``times`` token requests answer ``status`` (e.g. 503).

        ``as_json=False`` answers plain text, as a gateway in front of the service might.
        """
        with self.world.lock:
            self.world.token_faults.extend([(status, retry_after, as_json)] * times)

    # --- Graph faults -------------------------------------------------------------------
    def set_faults(self, plan: FaultPlan) -> None:
        """Inject random transient faults into Graph requests from now on."""
        import random

        with self.world.lock:
            self.world.faults = plan
            self.world.random = random.Random(plan.seed)

    def queue_fault(self, status: int, code: str, *, retry_after: str | None = None,
                    method: str | None = None, path_contains: str | None = None,
                    after_processing: bool = False, skip: int = 0) -> None:
        """Answer the next matching Graph request with ``status``/``code``.

        ``after_processing`` applies the request first (a lost response); ``skip`` lets that
        many matching requests through before this fault applies.
        """
        with self.world.lock:
            self.world.scripted.append(ScriptedFault(status, code, retry_after, method,
                                                     path_contains, after_processing, skip))

    def set_latency(self, seconds: float) -> None:
        """Delay every Graph answer (makes concurrent requests overlap)."""
        with self.world.lock:
            self.world.latency = seconds

    # --- calendar contents --------------------------------------------------------------
    def add_event(self, username: str, start: datetime, end: datetime, *,
                  subject: str = "Busy", show_as: str = "busy", calendar_id: str | None = None,
                  is_cancelled: bool = False, all_day_zone: str | None = None,
                  repeat_weekly: int = 1) -> str:
        """An event created "outside" (by the owner in Outlook); returns its (first) id.

        ``all_day_zone`` makes it an all-day event in that (Windows) zone: Graph returns
        those in their own zone whatever ``Prefer: outlook.timezone`` says.
        ``repeat_weekly`` > 1 makes a weekly series; calendarView returns its occurrences.
        """
        with self.world.lock:
            account = self.world.account(username)
            cal = account.calendar(calendar_id)
            assert cal is not None, "no such calendar"
            series = new_item_id() if repeat_weekly > 1 else None
            ids = []
            for week in range(repeat_weekly):
                event_id = new_item_id()
                shift = timedelta(weeks=week)
                data = {"@odata.etag": 'W/"x"', "id": event_id, "subject": subject,
                        "showAs": show_as, "isCancelled": is_cancelled,
                        "isAllDay": all_day_zone is not None,
                        "type": "occurrence" if series else "singleInstance",
                        "isOrganizer": True, "seriesMasterId": series,
                        "transactionId": None, "attendees": [], "onlineMeeting": None,
                        "organizer": {"emailAddress": {"name": account.display_name,
                                                       "address": account.username}}}
                zone = all_day_zone or "UTC"
                account.events[event_id] = StoredEvent(event_id, cal.id, start + shift,
                                                       end + shift, zone, zone, data)
                ids.append(event_id)
            outgoing = [n for i in ids for n in graph.pending_notifications(
                self.world, account, account.events[i], "created")]
        self._send(outgoing)
        return ids[0]

    # --- the owner changing events in Outlook (each sends its notifications) ------------
    def owner_deletes(self, username: str, event_id: str) -> list[Delivery]:
        """The owner deletes the event in Outlook; returns the notifications delivered."""
        return self._owner_change(username, event_id, "deleted", deleted=True)

    def owner_moves(self, username: str, event_id: str, start: datetime,
                    end: datetime) -> list[Delivery]:
        """The owner drags the event to ``[start, end)`` in Outlook."""
        return self._owner_change(username, event_id, "updated", start=start, end=end)

    def owner_cancels(self, username: str, event_id: str) -> list[Delivery]:
        """The event is marked cancelled (``isCancelled``) but stays on the calendar, as an
        organizer's cancellation shows in an attendee's copy."""
        return self._owner_change(username, event_id, "updated", data={"isCancelled": True})

    def owner_edits(self, username: str, event_id: str, **fields: Any) -> list[Delivery]:
        """The owner changes Graph fields of the event (``subject=``, ``location=``...)."""
        return self._owner_change(username, event_id, "updated", data=fields)

    def attendee_responds(self, username: str, event_id: str, email: str,
                          response: str = "declined") -> list[Delivery]:
        """An invited attendee answers (``declined``, ``accepted``, ``tentativelyAccepted``)."""
        with self.world.lock:
            ev = self.world.account(username).events[event_id]
            attendees = [dict(a) for a in ev.data.get("attendees") or []]
            for attendee in attendees:
                if (attendee.get("emailAddress") or {}).get("address", "").lower() \
                        == email.lower():
                    attendee["status"] = {"response": response,
                                          "time": graph_instant(datetime.now(UTC))}
        return self._owner_change(username, event_id, "updated",
                                  data={"attendees": attendees})

    def _owner_change(self, username: str, event_id: str, change: str, *,
                      deleted: bool = False, start: datetime | None = None,
                      end: datetime | None = None,
                      data: dict[str, Any] | None = None) -> list[Delivery]:
        with self.world.lock:
            account = self.world.account(username)
            ev = account.events[event_id]
            if deleted:
                ev.deleted = True
            if start is not None and end is not None:
                ev.start, ev.end = start, end
            ev.data.update(data or {})
            change_key = new_item_id()[4:20]
            ev.data.update({"changeKey": change_key, "@odata.etag": f'W/"{change_key}"'})
            outgoing = graph.pending_notifications(self.world, account, ev, change)
        return self._send(outgoing)

    def _send(self, outgoing: list[tuple[str, list[dict[str, Any]]]]) -> list[Delivery]:
        # Delivered outside the lock: the app's answer may lead it to call Graph at once.
        return [self.world.changes.deliver(url, notifications)
                for url, notifications in outgoing]

    # --- notifications, subscriptions and delta knobs -----------------------------------
    def block_notifications(self, blocked: bool = True) -> None:
        """Stop (or resume) delivering change notifications, as if the app were unreachable."""
        with self.world.lock:
            self.world.changes.blocked = blocked

    def subscriptions(self, username: str | None = None) -> list[Subscription]:
        """The subscriptions (of ``username``, if given)."""
        with self.world.lock:
            subs = list(self.world.changes.subscriptions.values())
        return [s for s in subs if username is None or s.username == username.lower()]

    def deleted_subscriptions(self, username: str | None = None) -> list[Subscription]:
        """The subscriptions the app deleted (``DELETE /subscriptions/{id}``), oldest first."""
        with self.world.lock:
            subs = list(self.world.changes.deleted)
        return [s for s in subs if username is None or s.username == username.lower()]

    def deliveries(self) -> list[Delivery]:
        """Every notification POSTed so far (after the background ones finished)."""
        for thread in list(self.world.changes.background):
            thread.join(timeout=10)
        with self.world.lock:
            return list(self.world.changes.deliveries)

    def send_notification(self, url: str, notifications: list[dict[str, Any]]) -> Delivery:
        """POST arbitrary notifications to ``url`` (a forger's, or a replayed one)."""
        return self.world.changes.deliver(url, notifications)

    def lifecycle(self, subscription_id: str, event: str) -> Delivery:
        """Send a lifecycle notification (``reauthorizationRequired``, ``subscriptionRemoved``,
        ``missed``); ``subscriptionRemoved`` also removes the subscription."""
        with self.world.lock:
            sub = self.world.changes.subscriptions[subscription_id]
            account = self.world.account(sub.username)
            if event == "subscriptionRemoved":
                del self.world.changes.subscriptions[subscription_id]
            note = {"subscriptionId": sub.id, "lifecycleEvent": event,
                    "subscriptionExpirationDateTime": graph_instant(sub.expiration),
                    "clientState": sub.client_state, "tenantId": account.tenant_id,
                    "resource": sub.resource}
            url = sub.lifecycle_url or sub.notification_url
        return self.world.changes.deliver(url, [note])

    def expire_delta_tokens(self, username: str) -> int:
        """Make every delta link handed out to ``username`` answer 410 ``syncStateNotFound``."""
        with self.world.lock:
            return self.world.changes.expire(username.lower())

    def expire_subscription(self, subscription_id: str) -> None:
        """Let the subscription run out now (it stops notifying)."""
        with self.world.lock:
            self.world.changes.subscriptions[subscription_id].expiration = \
                datetime.now(UTC) - timedelta(seconds=1)

    def events(self, username: str, *, include_deleted: bool = False) -> list[StoredEvent]:
        """The mailbox's events, ordered by start."""
        with self.world.lock:
            events = list(self.world.account(username).events.values())
        return sorted((e for e in events if include_deleted or not e.deleted),
                      key=lambda e: e.start)

    # --- request log --------------------------------------------------------------------
    def requests(self, service: str = "graph", *, method: str | None = None,
                 path_contains: str | None = None) -> list[RequestRecord]:
        """Logged requests, oldest first, filtered by service, method and path."""
        with self.world.lock:
            log = list(self.world.log)
        return [r for r in log if r.service == service
                and (method is None or r.method == method)
                and (path_contains is None or path_contains.lower() in r.path.lower())]

    def early_retries(self, username: str | None = None) -> list[RequestRecord]:
        """Requests a client sent to a mailbox inside a ``Retry-After`` window it had read.

        Counted on the connection that carried the announcement (see ``World.inside_hold``).
        """
        with self.world.lock:
            early = list(self.world.early)
        return [r for r in early
                if username is None or (r.mailbox or "").lower() == username.lower()]

    def clear_log(self) -> None:
        """Forget the requests seen so far (and the early retries among them)."""
        with self.world.lock:
            self.world.log.clear()
            self.world.early.clear()


__all__ = ["FaultPlan", "MicrosoftEmulator"]
