"""Microsoft Graph v1.0: the user, mailbox settings, calendars, calendarView and events."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from tzlocal.windows_tz import win_tz

from tests.fakes.microsoft.changes import (
    MAX_SUBSCRIPTION_MINUTES,
    Subscription,
    fingerprint,
    graph_instant,
    longest_expiration,
    parse_expiration,
    validate_endpoint,
)
from tests.fakes.microsoft.schema import BodyInvalid, validate
from tests.fakes.microsoft.state import (
    Account,
    Calendar,
    RequestRecord,
    ScriptedFault,
    StoredEvent,
    World,
    new_item_id,
)

PUBLIC_BASE = "https://graph.microsoft.com/v1.0"
# IANA names Graph accepts: one representative per Windows zone (CLDR territory 001).
_IANA_ACCEPTED = frozenset(win_tz.values())
_ID = re.compile(r"AAMk[A-Za-z0-9_\-+/=]+")
_PREFER_TZ = re.compile(r'outlook\.timezone\s*=\s*"([^"]*)"', re.IGNORECASE)


class GraphFailure(Exception):
    """An error answer in Graph's envelope."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def zone_of(name: str) -> ZoneInfo | None:
    """The zone Graph understands by ``name`` (Windows, ``UTC`` or a listed IANA name)."""
    if name in ("UTC", "tzone://Microsoft/Utc", "Coordinated Universal Time"):
        return ZoneInfo("UTC")
    if name in win_tz:
        return ZoneInfo(win_tz[name])
    if name in _IANA_ACCEPTED:
        return ZoneInfo(name)
    return None


def _zone_or_fail(name: str | None) -> ZoneInfo:
    zone = zone_of(name or "")
    if zone is None:
        raise GraphFailure(400, "TimeZoneNotSupportedException",
                           "A valid TimeZone value must be specified. The following TimeZone "
                           f"value is not supported: '{name or ''}'.")
    return zone


def format_graph_time(instant: datetime, zone_name: str) -> dict[str, str]:
    """A ``dateTimeTimeZone`` for ``instant`` shown in ``zone_name`` (7 fractional digits)."""
    zone = zone_of(zone_name) or ZoneInfo("UTC")
    local = instant.astimezone(zone)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond:06d}0",
            "timeZone": zone_name}


def _parse_local(value: dict[str, Any], where: str) -> tuple[datetime, str]:
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise GraphFailure(400, "ErrorInvalidRequest", f"'{where}' needs a dateTime.")
    zone = _zone_or_fail(value.get("timeZone"))
    text = value["dateTime"]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise GraphFailure(400, "RequestBodyRead", f"Cannot convert the literal '{text}' to "
                           "the expected type 'Edm.DateTimeOffset'.") from None
    if parsed.tzinfo is not None:
        parsed = parsed.replace(tzinfo=None)
    return parsed.replace(tzinfo=zone).astimezone(UTC), value["timeZone"]


def _parse_query_time(text: str | None, name: str) -> datetime:
    if not text:
        raise GraphFailure(400, "ErrorInvalidParameter", "This request requires a time window "
                           "specified by the query string parameters StartDateTime and "
                           "EndDateTime.")
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise GraphFailure(400, "ErrorInvalidParameter",
                           f"The value '{text}' of parameter '{name}' is invalid.") from None
    # No offset means UTC, as Graph reads these parameters.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Handler:
    """Answers one Graph request for an authenticated mailbox."""

    def __init__(self, world: World, account: Account, request: Request, body: Any,
                 scope: str, validation_problem: str | None = None) -> None:
        self.world, self.account, self.request, self.body = world, account, request, body
        # Why the subscription handshake failed (None: it worked, or none was needed).
        self.validation_problem = validation_problem
        self.scopes = {s.lower() for s in scope.split()}
        prefer = request.headers.get("prefer", "")
        match = _PREFER_TZ.search(prefer)
        self.out_zone = match.group(1) if match and zone_of(match.group(1)) else "UTC"
        self.query = {k: v for k, v in request.query_params.items()}

    def need(self, *scopes: str) -> None:
        if not any(s.lower() in self.scopes for s in scopes):
            raise GraphFailure(403, "ErrorAccessDenied",
                               "Access is denied. Check credentials and try again.")

    # --- user and settings ------------------------------------------------------------
    def me(self) -> tuple[int, Any]:
        self.need("User.Read", "User.ReadWrite", "User.ReadBasic.All")
        a = self.account
        first, _, last = a.display_name.partition(" ")
        user = {
            "@odata.context": f"{PUBLIC_BASE}/$metadata#users/$entity",
            "businessPhones": [], "displayName": a.display_name, "givenName": first,
            "surname": last or None, "jobTitle": None,
            "mail": None if a.personal else a.username, "mobilePhone": None,
            "officeLocation": None, "preferredLanguage": "en-US",
            "userPrincipalName": a.username, "id": a.graph_id,
        }
        return 200, self._select(user)

    def mailbox_settings(self) -> tuple[int, Any]:
        self.need("MailboxSettings.Read", "MailboxSettings.ReadWrite")
        return 200, {
            "@odata.context": f"{PUBLIC_BASE}/$metadata#Me/mailboxSettings",
            "timeZone": self.account.time_zone or "",
            "language": {"locale": "en-US", "displayName": "English (United States)"},
            "workingHours": {
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                "timeZone": {"name": self.account.time_zone or "Customized Time Zone"},
            },
            "dateFormat": "MM/dd/yyyy", "timeFormat": "hh:mm tt",
        }

    # --- calendars ----------------------------------------------------------------------
    def _calendar(self, calendar_id: str | None) -> Calendar:
        if calendar_id is not None and not _ID.fullmatch(calendar_id):
            raise GraphFailure(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        cal = self.account.calendar(calendar_id)
        if cal is None:
            raise GraphFailure(404, "ErrorItemNotFound",
                               "The specified object was not found in the store.")
        return cal

    def _calendar_json(self, cal: Calendar) -> dict[str, Any]:
        return {
            "id": cal.id, "name": cal.name, "color": "auto", "hexColor": "",
            "isDefaultCalendar": cal.is_default, "changeKey": secrets.token_hex(8),
            "canShare": True, "canViewPrivateItems": True, "canEdit": cal.can_edit,
            "allowedOnlineMeetingProviders": list(cal.allowed_providers),
            "defaultOnlineMeetingProvider": cal.default_provider,
            "isTallyingResponses": True, "isRemovable": not cal.is_default,
            "owner": {"name": self.account.display_name, "address": self.account.username},
        }

    def list_calendars(self) -> tuple[int, Any]:
        self.need("Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic")
        return 200, {"@odata.context": f"{PUBLIC_BASE}/$metadata#me/calendars",
                     "value": [self._calendar_json(c) for c in self.account.calendars]}

    def get_calendar(self, cal: str | None = None) -> tuple[int, Any]:
        self.need("Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic")
        return 200, self._calendar_json(self._calendar(cal))

    # --- events -------------------------------------------------------------------------
    def render(self, ev: StoredEvent) -> dict[str, Any]:
        out = dict(ev.data)
        # All-day events ignore the Prefer header: they come back in their own zone.
        start_zone = ev.start_zone if out.get("isAllDay") else self.out_zone
        end_zone = ev.end_zone if out.get("isAllDay") else self.out_zone
        out["start"] = format_graph_time(ev.start, start_zone)
        out["end"] = format_graph_time(ev.end, end_zone)
        return out

    def calendar_view(self, cal: str | None = None) -> tuple[int, Any]:
        self.need("Calendars.Read", "Calendars.ReadWrite")
        calendar = self._calendar(cal)
        q = {k.lower(): v for k, v in self.query.items()}
        start = _parse_query_time(q.get("startdatetime"), "startDateTime")
        end = _parse_query_time(q.get("enddatetime"), "endDateTime")
        top = int(q.get("$top", "10"))
        skip = int(q.get("$skip", "0"))
        if not 1 <= top <= 1000:
            raise GraphFailure(400, "ErrorInvalidParameter", "Invalid value for $top.")
        events = sorted(
            (e for e in self.account.events.values()
             if e.calendar_id == calendar.id and not e.deleted
             and e.start < end and e.end > start),
            key=lambda e: (e.start, e.id),
        )
        page = events[skip: skip + top]
        body: dict[str, Any] = {
            "@odata.context": f"{PUBLIC_BASE}/$metadata#Collection(microsoft.graph.event)",
            "value": [self._select(self.render(e)) for e in page],
        }
        if skip + top < len(events):
            params = dict(self.query)
            params["$skip"] = str(skip + top)
            base = str(self.request.base_url).rstrip("/")
            body["@odata.nextLink"] = f"{base}{self.request.url.path}?{urlencode(params)}"
        return 200, body

    def _select(self, item: dict[str, Any]) -> dict[str, Any]:
        select = self.query.get("$select")
        if not select:
            return item
        wanted = {s.strip().lower() for s in select.split(",")} | {"id"}
        return {k: v for k, v in item.items() if k.startswith("@odata") or k.lower() in wanted}

    def create_event(self, cal: str | None = None) -> tuple[int, Any]:
        self.need("Calendars.ReadWrite")
        calendar = self._calendar(cal)
        body = self._valid_body()
        if "start" not in body or "end" not in body:
            raise GraphFailure(400, "ErrorInvalidRequest", "An event needs a start and an end.")
        start, start_zone = _parse_local(body["start"], "start")
        end, end_zone = _parse_local(body["end"], "end")
        if end < start:
            raise GraphFailure(400, "ErrorInvalidRequest",
                               "The event's end must not be before its start.")
        txid = body.get("transactionId")
        fingerprint = json.dumps(body, sort_keys=True)
        if txid:
            known = self.account.transactions.get(txid)
            if known is not None:
                existing = self.account.events.get(known[0])
                if known[1] == fingerprint and existing is not None and not existing.deleted:
                    # An identical retry: answer with the event it created, create nothing.
                    return 201, self.render(existing)
                raise GraphFailure(400, "ErrorDuplicateTransactionId",
                                   "The TransactionId specified in the request has already "
                                   "been used to create a different event.")
        ev = self._new_event(calendar, body, start, end, start_zone, end_zone)
        self.account.events[ev.id] = ev
        self._notify(ev, "created")
        if txid:
            self.account.transactions[txid] = (ev.id, fingerprint)
        return 201, self.render(ev)

    def _valid_body(self) -> dict[str, Any]:
        try:
            validate(self.body, "event")
        except BodyInvalid as exc:
            raise GraphFailure(400, "RequestBodyRead", str(exc)) from None
        if not isinstance(self.body, dict):
            raise GraphFailure(400, "RequestBodyRead", "An event body must be a JSON object.")
        return self.body

    def _new_event(self, calendar: Calendar, body: dict[str, Any], start: datetime,
                   end: datetime, start_zone: str, end_zone: str) -> StoredEvent:
        a = self.account
        event_id = new_item_id()
        change_key = secrets.token_urlsafe(16)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
        wants_teams = bool(body.get("isOnlineMeeting")) and \
            str(body.get("onlineMeetingProvider", "")).lower() == "teamsforbusiness"
        # Personal accounts (and calendars without Teams) accept the request and drop it.
        teams = wants_teams and not a.personal and \
            "teamsForBusiness" in calendar.allowed_providers
        data: dict[str, Any] = {
            "@odata.context": f"{PUBLIC_BASE}/$metadata#users('{a.graph_id}')/events/$entity",
            "@odata.etag": f'W/"{change_key}"', "id": event_id,
            "createdDateTime": now, "lastModifiedDateTime": now, "changeKey": change_key,
            "categories": [], "transactionId": body.get("transactionId"),
            "originalStartTimeZone": start_zone, "originalEndTimeZone": end_zone,
            "iCalUId": "040000008200E00074C5B7101A82E008" + secrets.token_hex(40).upper(),
            "reminderMinutesBeforeStart": body.get("reminderMinutesBeforeStart", 15),
            "isReminderOn": body.get("isReminderOn", True), "hasAttachments": False,
            "subject": body.get("subject", ""),
            "bodyPreview": str((body.get("body") or {}).get("content", ""))[:255],
            "importance": body.get("importance", "normal"),
            "sensitivity": body.get("sensitivity", "normal"),
            "isAllDay": body.get("isAllDay", False), "isCancelled": False, "isDraft": False,
            "isOrganizer": True, "responseRequested": body.get("responseRequested", True),
            "seriesMasterId": None, "showAs": body.get("showAs", "busy"),
            "type": "singleInstance",
            "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}"
                       "&exvsurl=1&path=/calendar/item",
            "onlineMeetingUrl": None, "isOnlineMeeting": teams,
            "onlineMeetingProvider": "teamsForBusiness" if teams else "unknown",
            "allowNewTimeProposals": body.get("allowNewTimeProposals", True),
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "body": _body(body.get("body")),
            "location": _location(body.get("location")),
            "locations": [_location(body.get("location"))] if body.get("location") else [],
            "recurrence": None,
            "attendees": [_attendee(x) for x in body.get("attendees", [])],
            "organizer": {"emailAddress": {"name": a.display_name, "address": a.username}},
            "onlineMeeting": {
                "joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_"
                           f"{secrets.token_urlsafe(24)}%40thread.v2/0",
                "conferenceId": str(secrets.randbelow(10**9)),
                "tollNumber": "+1 425 555 0123",
            } if teams else None,
        }
        return StoredEvent(event_id, calendar.id, start, end, start_zone, end_zone, data)

    def _event(self, event_id: str) -> StoredEvent:
        if not _ID.fullmatch(event_id):
            raise GraphFailure(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        ev = self.account.events.get(event_id)
        if ev is None or ev.deleted:
            raise GraphFailure(404, "ErrorItemNotFound",
                               "The specified object was not found in the store.")
        return ev

    def get_event(self, event_id: str) -> tuple[int, Any]:
        self.need("Calendars.Read", "Calendars.ReadWrite")
        return 200, self._select(self.render(self._event(event_id)))

    def update_event(self, event_id: str) -> tuple[int, Any]:
        self.need("Calendars.ReadWrite")
        ev = self._event(event_id)
        body = self._valid_body()
        if "transactionId" in body and body["transactionId"] != ev.data.get("transactionId"):
            raise GraphFailure(400, "ErrorInvalidPropertyUpdateSentToServer",
                               "The transactionId of an event cannot be changed.")
        start, end = ev.start, ev.end
        if "start" in body:
            start, ev.start_zone = _parse_local(body["start"], "start")
        if "end" in body:
            end, ev.end_zone = _parse_local(body["end"], "end")
        if end < start:
            raise GraphFailure(400, "ErrorInvalidRequest",
                               "The event's end must not be before its start.")
        ev.start, ev.end = start, end
        for key, value in body.items():
            if key in ("start", "end"):
                continue
            if key == "attendees":
                value = [_attendee(x) for x in value]
            elif key == "location":
                value = _location(value)
            elif key == "body":
                value = _body(value)
            ev.data[key] = value
        change_key = secrets.token_urlsafe(16)
        ev.data.update({"changeKey": change_key, "@odata.etag": f'W/"{change_key}"',
                        "lastModifiedDateTime":
                            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"})
        self._notify(ev, "updated")
        return 200, self.render(ev)

    def delete_event(self, event_id: str) -> tuple[int, Any]:
        self.need("Calendars.ReadWrite")
        ev = self._event(event_id)
        ev.deleted = True
        self._notify(ev, "deleted")
        return 204, None

    def _notify(self, ev: StoredEvent, change: str) -> None:
        for url, notifications in pending_notifications(self.world, self.account, ev, change):
            self.world.changes.deliver_later(url, notifications)

    # --- delta --------------------------------------------------------------------------
    def delta(self, cal: str | None = None) -> tuple[int, Any]:
        self.need("Calendars.Read", "Calendars.ReadWrite")
        changes = self.world.changes
        q = {k.lower(): v for k, v in self.query.items()}
        size = changes.page_size(self.request.headers.get("prefer", ""))
        link_base = str(self.request.base_url).rstrip("/") + self.request.url.path
        skip, delta = q.get("$skiptoken"), q.get("$deltatoken")
        if skip or delta:
            round_ = changes.rounds.get(skip or delta or "")
            if round_ is None or round_.expired or round_.username != self.account.username:
                raise GraphFailure(410, "syncStateNotFound",
                                   "The sync state generation is not found. Please resync.")
            if delta:
                round_ = self._next_round(round_.calendar_id, round_.start, round_.end,
                                          round_.seen)
        else:
            calendar = self._calendar(cal)
            start = _parse_query_time(q.get("startdatetime"), "startDateTime")
            end = _parse_query_time(q.get("enddatetime"), "endDateTime")
            round_ = self._next_round(calendar.id, start, end, {})
        return 200, changes.page(round_, size, link_base)

    def _next_round(self, calendar_id: str, start: datetime, end: datetime,
                    seen: dict[str, str]) -> Any:
        """A round reporting what changed in the window since ``seen``."""
        now = {e.id: e for e in self.account.events.values()
               if e.calendar_id == calendar_id and not e.deleted
               and e.start < end and e.end > start}
        now_seen = {event_id: fingerprint(e) for event_id, e in now.items()}
        items: list[dict[str, Any]] = [
            self.render(e) for e in sorted(now.values(), key=lambda e: (e.start, e.id))
            if seen.get(e.id) != now_seen[e.id]]
        items += [{"@odata.type": "#microsoft.graph.event", "id": gone,
                   "@removed": {"reason": "deleted"}} for gone in seen if gone not in now]
        return self.world.changes.begin(self.account.username, calendar_id, start, end,
                                        items, now_seen)

    # --- subscriptions ------------------------------------------------------------------
    def create_subscription(self) -> tuple[int, Any]:
        self.need("Calendars.Read", "Calendars.ReadWrite")
        body = self.body if isinstance(self.body, dict) else {}
        for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise GraphFailure(400, "InvalidRequest", f"'{name}' is required.")
        kinds = {k.strip() for k in body["changeType"].split(",")}
        if not kinds or not kinds <= {"created", "updated", "deleted"}:
            raise GraphFailure(400, "InvalidRequest", "Invalid changeType.")
        calendar_id = self._subscribed_calendar(body["resource"])
        expiration = self._expiration(body["expirationDateTime"])
        client_state = body.get("clientState")
        if client_state is not None and (not isinstance(client_state, str)
                                         or len(client_state) > 128):
            raise GraphFailure(400, "InvalidRequest",
                               "clientState must be a string of at most 128 characters.")
        if self.validation_problem is not None:
            raise GraphFailure(400, "InvalidRequest", "Subscription validation request "
                               "failed. Notification endpoint must respond with 200 OK to "
                               f"validation request. ({self.validation_problem})")
        sub = Subscription(str(uuid.uuid4()), self.account.username, body["resource"], kinds,
                           body["notificationUrl"], body.get("lifecycleNotificationUrl"),
                           client_state, expiration, calendar_id)
        self.world.changes.subscriptions[sub.id] = sub
        return 201, self._subscription_json(sub)

    def _subscribed_calendar(self, resource: str) -> str | None:
        text = resource.strip("/")
        if text.lower() in ("me/events", "me/calendar/events"):
            return None if text.lower() == "me/events" else self._calendar(None).id
        match = re.fullmatch(r"me/calendars/([^/]+)/events", text, re.IGNORECASE)
        if match is None:
            raise GraphFailure(400, "InvalidRequest", f"Unsupported resource '{resource}'.")
        from urllib.parse import unquote

        return self._calendar(unquote(match.group(1))).id

    @staticmethod
    def _expiration(text: str) -> datetime:
        expiration = parse_expiration(text)
        if expiration is None:
            raise GraphFailure(400, "InvalidRequest", "Invalid expirationDateTime.")
        if expiration <= datetime.now(UTC):
            raise GraphFailure(400, "InvalidRequest",
                               "Subscription expiration must be in the future.")
        if expiration > longest_expiration():
            raise GraphFailure(400, "InvalidRequest", "Subscription expiration can only be "
                               f"{MAX_SUBSCRIPTION_MINUTES} minutes in the future.")
        return expiration

    def _subscription(self, sub_id: str) -> Subscription:
        sub = self.world.changes.subscriptions.get(sub_id)
        if sub is None or sub.username != self.account.username:
            raise GraphFailure(404, "ResourceNotFound",
                               f"The object was not found: subscription '{sub_id}'.")
        return sub

    def _subscription_json(self, sub: Subscription) -> dict[str, Any]:
        return {"@odata.context": f"{PUBLIC_BASE}/$metadata#subscriptions/$entity",
                "id": sub.id, "resource": sub.resource,
                "applicationId": self.world.client_id,
                "changeType": ",".join(sorted(sub.change_type)),
                "clientState": sub.client_state, "notificationUrl": sub.notification_url,
                "lifecycleNotificationUrl": sub.lifecycle_url,
                "expirationDateTime": graph_instant(sub.expiration),
                "creatorId": self.account.object_id, "latestSupportedTlsVersion": "v1_2",
                "notificationContentType": "application/json"}

    def get_subscription(self, sub_id: str) -> tuple[int, Any]:
        return 200, self._subscription_json(self._subscription(sub_id))

    def renew_subscription(self, sub_id: str) -> tuple[int, Any]:
        sub = self._subscription(sub_id)
        body = self.body if isinstance(self.body, dict) else {}
        unknown = set(body) - {"expirationDateTime"}
        if unknown or not isinstance(body.get("expirationDateTime"), str):
            raise GraphFailure(400, "InvalidRequest",
                               "Only expirationDateTime can be updated.")
        sub.expiration = self._expiration(body["expirationDateTime"])
        return 200, self._subscription_json(sub)

    def delete_subscription(self, sub_id: str) -> tuple[int, Any]:
        sub = self._subscription(sub_id)
        del self.world.changes.subscriptions[sub.id]
        self.world.changes.deleted.append(sub)
        return 204, None

    def cancel_event(self, event_id: str) -> tuple[int, Any]:
        self.need("Calendars.ReadWrite")
        ev = self._event(event_id)
        body = self.body if isinstance(self.body, dict) else {}
        unknown = {k for k in body if k.lower() != "comment"}
        if unknown:
            raise GraphFailure(400, "RequestBodyRead", f"The parameter '{unknown.pop()}' in "
                               "the request payload is not a valid parameter for the "
                               "operation 'cancel'.")
        if not ev.data.get("isOrganizer"):
            raise GraphFailure(400, "ErrorAccessDenied", "Your request can't be completed. "
                               "You need to be an organizer to cancel a meeting.")
        ev.cancel_comment = next((v for k, v in body.items() if k.lower() == "comment"), "")
        ev.deleted = True
        self._notify(ev, "deleted")
        return 202, None


def pending_notifications(world: World, account: Account, ev: StoredEvent,
                          change: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """The notifications a change to ``ev`` sends: (notificationUrl, notifications) pairs
    (none while the test blocks notifications). Call with the world's lock held."""
    changes = world.changes
    if changes.blocked:
        return []
    return [(sub.notification_url,
             [changes.notification(sub, change, ev.id, account.tenant_id)])
            for sub in changes.matching(account.username, ev.calendar_id)
            if change in sub.change_type]


def _body(value: Any) -> dict[str, Any]:
    value = value or {}
    return {"contentType": str(value.get("contentType", "text")).lower(),
            "content": value.get("content", "")}


def _location(value: Any) -> dict[str, Any]:
    if not value:
        return {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"}
    name = value.get("displayName", "")
    return {"displayName": name, "locationType": value.get("locationType", "default"),
            "uniqueId": name, "uniqueIdType": "private"}


def _attendee(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": value.get("type", "required"),
            "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
            "emailAddress": dict(value.get("emailAddress") or {})}


_CAL = r"/me/calendars/(?P<cal>[^/]+)"
_EVENT = r"/me/(?:calendars/[^/]+/)?events/(?P<event_id>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]] = [
    (m, re.compile(p + "/?", re.IGNORECASE), f) for m, p, f in [
        ("GET", r"/me", Handler.me),
        ("GET", r"/me/mailboxSettings", Handler.mailbox_settings),
        ("GET", r"/me/calendars", Handler.list_calendars),
        ("GET", r"/me/calendar", Handler.get_calendar),
        ("GET", _CAL, Handler.get_calendar),
        ("GET", r"/me/(?:calendar/)?calendarView", Handler.calendar_view),
        ("GET", _CAL + r"/calendarView", Handler.calendar_view),
        ("GET", r"/me/(?:calendar/)?calendarView/delta", Handler.delta),
        ("GET", _CAL + r"/calendarView/delta", Handler.delta),
        ("POST", r"/subscriptions", Handler.create_subscription),
        ("GET", r"/subscriptions/(?P<sub_id>[^/]+)", Handler.get_subscription),
        ("PATCH", r"/subscriptions/(?P<sub_id>[^/]+)", Handler.renew_subscription),
        ("DELETE", r"/subscriptions/(?P<sub_id>[^/]+)", Handler.delete_subscription),
        ("POST", r"/me/(?:calendar/)?events", Handler.create_event),
        ("POST", _CAL + r"/events", Handler.create_event),
        ("GET", _EVENT, Handler.get_event),
        ("PATCH", _EVENT, Handler.update_event),
        ("DELETE", _EVENT, Handler.delete_event),
        ("POST", _EVENT + r"/cancel", Handler.cancel_event),
    ]
]


def _envelope(failure: GraphFailure, request_id: str, client_request_id: str | None,
              ) -> dict[str, Any]:
    inner: dict[str, Any] = {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                             "request-id": request_id}
    if client_request_id:
        inner["client-request-id"] = client_request_id
    if failure.status == 429:
        inner.update({"code": "429", "status": "429", "message": "Please retry after"})
    return {"error": {"code": failure.code, "message": failure.message, "innerError": inner}}


def _fault_failure(fault: ScriptedFault) -> GraphFailure:
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
    messages = {429: "Please retry again later.", 503: "The service is temporarily unavailable.",
                504: "The gateway timed out."}
    return GraphFailure(fault.status, fault.code, messages.get(fault.status, "Error."), headers)


def router(world: World) -> APIRouter:
    """Routes of Graph v1.0 bound to ``world``."""
    api = APIRouter()

    @api.api_route("/v1.0/{path:path}", methods=["GET", "POST", "PATCH", "DELETE"])
    async def graph(path: str, request: Request) -> Response:
        return await _answer(world, request, "/" + path)

    return api


async def _answer(world: World, request: Request, path: str) -> Response:
    arrived = time.monotonic()
    connection = (request.client.host, request.client.port) if request.client else None
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id")
    raw = await request.body()
    body: Any = None
    account: Account | None = None
    status, payload, headers = 500, None, {}
    code: str | None = None
    counted = False
    early = False
    try:
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise GraphFailure(400, "BadRequest", "Unable to read JSON request payload.") \
                    from None
        auth = request.headers.get("authorization", "")
        with world.lock:
            token = world.access_tokens.get(auth.removeprefix("Bearer ").strip()) \
                if auth.startswith("Bearer ") else None
            if token is None or token.revoked or token.expires <= datetime.now(UTC):
                message = "Access token is empty." if not auth else \
                    "Access token has expired or is not yet valid."
                raise GraphFailure(401, "InvalidAuthenticationToken", message)
            account = world.account(token.username)
            early = world.inside_hold(account, arrived, connection)
            if not account.mailbox_enabled:
                raise GraphFailure(404, "MailboxNotEnabledForRESTAPI",
                                   "The mailbox is either inactive, soft-deleted, or is hosted "
                                   "on-premise.")
            account.in_flight += 1
            counted = True
            if account.in_flight > world.mailbox_concurrency:
                raise GraphFailure(429, "ApplicationThrottled",
                                   "Application is over its MailboxConcurrency limit.",
                                   {"Retry-After": world.concurrency_retry_after})
            latency = world.latency
        if latency:
            await asyncio.sleep(latency)
        problem = None
        if request.method == "POST" and path.strip("/").lower() == "subscriptions" \
                and isinstance(body, dict):
            # The handshake happens before the subscription exists, outside the lock.
            for name in ("notificationUrl", "lifecycleNotificationUrl"):
                if isinstance(body.get(name), str) and problem is None:
                    problem = await validate_endpoint(body[name])
        with world.lock:
            fault, after = world.draw_fault(request.method, path)
            if fault is not None and not after:
                raise _fault_failure(fault)
            handler = Handler(world, account, request, body, token.scope, problem)
            for method, pattern, func in ROUTES:
                match = pattern.fullmatch(path)
                if match and method == request.method:
                    status, payload = func(handler, **match.groupdict())
                    break
            else:
                raise GraphFailure(400, "BadRequest",
                                   f"Resource not found for the segment '{path.split('/')[-1]}'.")
            if fault is not None:
                raise _fault_failure(fault)
    except GraphFailure as failure:
        status, payload = failure.status, _envelope(failure, request_id, client_request_id)
        headers, code = dict(failure.headers), failure.code
    finally:
        with world.lock:
            if counted and account is not None:
                account.in_flight -= 1
            record = RequestRecord("graph", request.method, path, dict(request.query_params),
                                   status, account.username if account else None, body, code)
            world.log.append(record)
            if early:
                world.early.append(record)
            if account is not None and "Retry-After" in headers:
                world.announce_hold(account, headers["Retry-After"], time.monotonic(),
                                    connection)
    headers["request-id"] = request_id
    if client_request_id:
        headers["client-request-id"] = client_request_id
    if payload is None:
        return Response(status_code=status, headers=headers)
    return Response(json.dumps(payload), status_code=status, headers=headers,
                    media_type="application/json")
