"""Google Calendar API v3: the calendar list, freeBusy, and events insert/get/patch/delete."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Request, Response

from tests.fakes.google.schema import (
    BodyInvalid,
    EventDateTime,
    EventInsert,
    EventPatch,
    FreeBusyRequest,
    parse,
)
from tests.fakes.google.state import (
    SCOPES_FOR,
    Account,
    Calendar,
    Channel,
    PushRecord,
    RequestRecord,
    StoredEvent,
    World,
)

_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
_STATUS_TEXT = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ALREADY_EXISTS", 410: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


class ApiFailure(Exception):
    """An error answer in Google's envelope."""

    def __init__(self, status: int, reason: str, message: str, domain: str = "global",
                 **extra: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain
        self.extra = extra

    def envelope(self) -> dict[str, Any]:
        """``{"error": {"code", "message", "errors": [...], "status"}}``."""
        item = {"domain": self.domain, "reason": self.reason, "message": self.message,
                **self.extra}
        error: dict[str, Any] = {"code": self.status, "message": self.message,
                                 "errors": [item]}
        if self.status in _STATUS_TEXT:
            error["status"] = _STATUS_TEXT[self.status]
        return {"error": error}


def rate_limited(kind: str) -> ApiFailure:
    """The answer for a rate-limit fault kind (``429``, ``403``, ``403user``)."""
    if kind == "429":
        return ApiFailure(429, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits")
    if kind == "403user":
        return ApiFailure(403, "userRateLimitExceeded", "User Rate Limit Exceeded",
                          "usageLimits")
    if kind == "403":
        return ApiFailure(403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits")
    if kind in ("500", "503"):
        return ApiFailure(int(kind), "backendError", "Backend Error")
    raise ValueError(f"unknown fault kind {kind!r}")


NOT_FOUND = ("notFound", "Not Found")


def _rfc3339(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).isoformat()


def stamp() -> str:
    """Google's ``updated`` format, now."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _instant(value: EventDateTime, calendar_zone: str, where: str) -> tuple[datetime, bool]:
    """The instant a start/end names, and whether it is an all-day date."""
    if value.date is not None:
        zone = ZoneInfo(value.time_zone or calendar_zone)
        return datetime.combine(value.date, time(0), zone).astimezone(UTC), True
    assert value.date_time is not None
    if value.date_time.tzinfo is None:
        if not value.time_zone:
            raise ApiFailure(400, "required", f"Missing time zone definition for {where} time.")
        try:
            zone = ZoneInfo(value.time_zone)
        except (KeyError, ValueError):
            raise ApiFailure(400, "invalid", f"Invalid time zone definition for {where} "
                             "time.") from None
        return value.date_time.replace(tzinfo=zone).astimezone(UTC), False
    return value.date_time.astimezone(UTC), False


class Handler:
    """Answers one Calendar API request for an authenticated account."""

    def __init__(self, world: World, account: Account, request: Request, body: Any,
                 scope: str) -> None:
        self.world, self.account, self.request, self.body = world, account, request, body
        self.scopes = set(scope.split())
        self.query = dict(request.query_params)

    def need(self, kind: str) -> None:
        if not self.scopes & SCOPES_FOR[kind]:
            raise ApiFailure(403, "insufficientPermissions", "Insufficient Permission: "
                             "Request had insufficient authentication scopes.")

    def _calendar(self, calendar_id: str) -> Calendar:
        cal = self.account.calendar(calendar_id)
        if cal is None:
            raise ApiFailure(404, *NOT_FOUND)
        return cal

    # --- calendar list ------------------------------------------------------------------
    def _entry(self, cal: Calendar) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry",
            "etag": f'"{hashlib.sha1(cal.id.encode()).hexdigest()[:16]}"',
            "id": cal.id, "summary": cal.summary, "timeZone": cal.time_zone,
            "colorId": "14", "backgroundColor": "#9fe1e7", "foregroundColor": "#000000",
            "selected": True, "accessRole": cal.access_role,
            "defaultReminders": [{"method": "popup", "minutes": 10}],
            "conferenceProperties": {"allowedConferenceSolutionTypes":
                                     ["hangoutsMeet"] if cal.meet else []},
        }
        if cal.primary:
            entry["primary"] = True
        return entry

    def list_calendars(self) -> tuple[int, Any]:
        self.need("calendarList")
        try:
            size = int(self.query.get("maxResults", "100"))
            start = int(self.query.get("pageToken", "0"))
        except ValueError:
            raise ApiFailure(400, "invalid", "Invalid Value") from None
        if not 1 <= size <= 250:
            raise ApiFailure(400, "invalid", "Invalid Value")
        calendars = self.account.calendars
        body: dict[str, Any] = {"kind": "calendar#calendarList", "etag": '"p33g"',
                                "nextSyncToken": "CPDAlvWDx70CEPDAlvWDx70CGAU=",
                                "items": [self._entry(c) for c in calendars[start:start + size]]}
        if start + size < len(calendars):
            body["nextPageToken"] = str(start + size)
            del body["nextSyncToken"]
        return 200, body

    def get_calendar_entry(self, calendar_id: str) -> tuple[int, Any]:
        self.need("calendarList")
        return 200, self._entry(self._calendar(calendar_id))

    # --- freeBusy -----------------------------------------------------------------------
    def free_busy(self) -> tuple[int, Any]:
        self.need("freeBusy")
        query = self._parse(FreeBusyRequest)
        if query.time_min.tzinfo is None or query.time_max.tzinfo is None:
            raise ApiFailure(400, "invalid", "Bad Request")
        low, high = query.time_min.astimezone(UTC), query.time_max.astimezone(UTC)
        if high <= low:
            raise ApiFailure(400, "timeRangeEmpty", "The specified time range is empty.",
                             location="timeMax", locationType="parameter")
        if high - low > timedelta(days=90):
            raise ApiFailure(400, "timeRangeTooLong", "The requested time range is too long.",
                             location="timeMax", locationType="parameter")
        zone = query.time_zone or "UTC"
        calendars: dict[str, Any] = {}
        for item in query.items:
            cal = self.account.calendar(item.id)
            if cal is None:
                calendars[item.id] = {"errors": [{"domain": "global", "reason": "notFound"}],
                                      "busy": []}
                continue
            spans = sorted((max(e.start, low), min(e.end, high))
                           for e in self.account.events.values()
                           if e.calendar_id == cal.id and _blocks(e)
                           and e.start < high and e.end > low)
            merged: list[list[datetime]] = []
            for start, end in spans:
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            calendars[item.id] = {"busy": [{"start": _rfc3339(s, "UTC") if zone == "UTC"
                                            else _rfc3339(s, zone),
                                            "end": _rfc3339(e, "UTC") if zone == "UTC"
                                            else _rfc3339(e, zone)} for s, e in merged]}
        return 200, {"kind": "calendar#freeBusy", "timeMin": _rfc3339(low, "UTC"),
                     "timeMax": _rfc3339(high, "UTC"), "calendars": calendars}

    # --- events -------------------------------------------------------------------------
    def _parse(self, model: type[Any]) -> Any:
        try:
            return parse(model, self.body)
        except BodyInvalid as exc:
            raise ApiFailure(400, exc.reason, exc.message) from None

    def _send_updates(self) -> str:
        value = self.query.get("sendUpdates", "false")
        if value not in ("all", "externalOnly", "none", "false"):
            raise ApiFailure(400, "invalidParameter", f"Invalid value '{value}'. Values must "
                             "match the following regular expression: "
                             "'all|externalOnly|none'", location="sendUpdates",
                             locationType="parameter")
        return value

    def render(self, ev: StoredEvent) -> dict[str, Any]:
        cal = self.account.calendar(ev.calendar_id)
        zone = cal.time_zone if cal else "UTC"
        out = dict(ev.data)
        if out.pop("_all_day", False):
            out["start"] = {"date": ev.start.astimezone(ZoneInfo(zone)).date().isoformat()}
            out["end"] = {"date": ev.end.astimezone(ZoneInfo(zone)).date().isoformat()}
        else:
            out["start"] = {"dateTime": _rfc3339(ev.start, zone), "timeZone": zone}
            out["end"] = {"dateTime": _rfc3339(ev.end, zone), "timeZone": zone}
        return out

    def insert_event(self, calendar_id: str) -> tuple[int, Any]:
        self.need("events.write")
        cal = self._calendar(calendar_id)
        if cal.access_role not in ("owner", "writer"):
            raise ApiFailure(403, "requiredAccessLevel", "You need to have writer access to "
                             "this calendar.")
        send = self._send_updates()
        body = self._parse(EventInsert)
        event_id = body.id or secrets.token_hex(13)
        if not _EVENT_ID.fullmatch(event_id):
            raise ApiFailure(400, "invalid", "Invalid resource id value.")
        if (cal.id, event_id) in self.account.events:
            # Deleted events keep their ids: a second insert is refused either way.
            raise ApiFailure(409, "duplicate", "The requested identifier already exists.")
        start, all_day = _instant(body.start, cal.time_zone, "start")
        end, _ = _instant(body.end, cal.time_zone, "end")
        if end < start:
            raise ApiFailure(400, "timeRangeEmpty", "The specified time range is empty.")
        now = stamp()
        a = self.account
        data: dict[str, Any] = {
            "kind": "calendar#event", "etag": f'"{secrets.randbelow(10**16)}"',
            "id": event_id, "status": body.status or "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "created": now, "updated": now, "summary": body.summary or "",
            "creator": {"email": a.email, "self": True},
            "organizer": {"email": cal.id, "displayName": cal.summary, "self": True},
            "iCalUID": f"{event_id}@google.com", "sequence": 0,
            "reminders": {"useDefault": True}, "eventType": "default",
            "_all_day": all_day,
        }
        for key, value in (("description", body.description), ("location", body.location)):
            if value is not None:
                data[key] = value
        if body.transparency == "transparent":
            data["transparency"] = "transparent"
        if body.guests_can_modify is not None:
            data["guestsCanModify"] = body.guests_can_modify
        if body.attendees:
            data["attendees"] = [_attendee(x.model_dump(by_alias=True, exclude_none=True), a)
                                 for x in body.attendees]
        ev = StoredEvent(event_id, cal.id, start, end, data)
        ev.notifications.append(("insert", send))
        conference = body.conference_data
        # Without conferenceDataVersion=1 Google ignores conferenceData altogether.
        if conference is not None and conference.create_request is not None \
                and self.query.get("conferenceDataVersion") == "1":
            self._conference(ev, cal, conference.create_request.request_id,
                             conference.create_request.conference_solution_key)
        a.events[(cal.id, event_id)] = ev
        self.world.changed(a, ev)
        return 200, self.render(ev)

    def _conference(self, ev: StoredEvent, cal: Calendar, request_id: str, key: Any) -> None:
        solution = key.type if key is not None else "hangoutsMeet"
        request = {"requestId": request_id, "conferenceSolutionKey": {"type": solution}}
        if solution != "hangoutsMeet" or not cal.meet:
            request["status"] = {"statusCode": "failure"}
            ev.data["conferenceData"] = {"createRequest": request}
            return
        pending = self.world.conference_pending_gets
        request["status"] = {"statusCode": "pending" if pending else "success"}
        ev.data["conferenceData"] = {"createRequest": request}
        ev.pending_gets = pending
        if not pending:
            _create_meet(ev)

    def _event(self, calendar_id: str, event_id: str) -> StoredEvent:
        cal = self._calendar(calendar_id)
        ev = self.account.events.get((cal.id, event_id))
        if ev is None:
            raise ApiFailure(404, *NOT_FOUND)
        return ev

    def get_event(self, calendar_id: str, event_id: str) -> tuple[int, Any]:
        self.need("events.read")
        ev = self._event(calendar_id, event_id)
        if ev.pending_gets:
            ev.pending_gets -= 1
            if not ev.pending_gets:
                _create_meet(ev)
        return 200, self.render(ev)

    def list_events(self, calendar_id: str) -> tuple[int, Any]:
        """events.list: ``timeMin`` / ``timeMax`` (RFC 3339 with an offset), ``singleEvents``,
        ``orderBy`` (``startTime`` only with ``singleEvents=true``), ``maxResults`` (at most
        2500) and ``pageToken``; cancelled events only with ``showDeleted=true``."""
        self.need("events.read")
        cal = self._calendar(calendar_id)
        bounds: dict[str, datetime] = {}
        for name in ("timeMin", "timeMax"):
            if name in self.query:
                try:
                    value = datetime.fromisoformat(self.query[name].replace("Z", "+00:00"))
                except ValueError:
                    value = None
                if value is None or value.tzinfo is None:
                    raise ApiFailure(400, "badRequest", "Bad Request", location=name,
                                     locationType="parameter")
                bounds[name] = value.astimezone(UTC)
        single = self.query.get("singleEvents", "false") == "true"
        order = self.query.get("orderBy")
        if order not in (None, "startTime", "updated") or (order == "startTime" and not single):
            raise ApiFailure(400, "badRequest", "The requested ordering is not available for "
                             "the particular query.", location="orderBy",
                             locationType="parameter")
        try:
            limit = int(self.query.get("maxResults", "250"))
            # A page token carries the offset and the change number at the first page.
            offset_text, _, mark_text = self.query.get("pageToken", "0").partition(".")
            offset = int(offset_text)
            mark = int(mark_text) if mark_text else self.world.seq
        except ValueError:
            raise ApiFailure(400, "invalid", "Invalid value") from None
        if not 1 <= limit <= 2500 or offset < 0:
            raise ApiFailure(400, "invalid", "Invalid value", location="maxResults",
                             locationType="parameter")
        deleted = self.query.get("showDeleted") == "true"
        low, high = bounds.get("timeMin"), bounds.get("timeMax")
        since = None
        if "syncToken" in self.query:
            # Incremental sync: what changed since the token, deleted events included (as
            # "cancelled"); the filters a token cannot be combined with are refused.
            for name in ("timeMin", "timeMax", "orderBy", "q", "updatedMin", "iCalUID",
                         "privateExtendedProperty", "sharedExtendedProperty"):
                if name in self.query or self.query.get("showDeleted") == "false":
                    raise ApiFailure(400, "syncTokenWithRequestRestrictions", "Sync token "
                                     "cannot be used with other request restrictions.")
            since = self._since(cal, self.query["syncToken"])
            deleted = True
        found = [e for e in self.account.events.values()
                 if e.calendar_id == cal.id and (deleted or not e.cancelled)
                 and (since is None or e.seq > since)
                 and (low is None or e.end > low) and (high is None or e.start < high)]
        found.sort(key=lambda e: (e.start, e.id))
        page = found[offset:offset + limit]
        answer: dict[str, Any] = {"kind": "calendar#events", "summary": cal.summary,
                                  "timeZone": cal.time_zone, "updated": stamp(),
                                  "items": [self.render(e) for e in page]}
        if offset + limit < len(found):
            answer["nextPageToken"] = f"{offset + limit}.{mark}"
        elif order is None:
            # The last page of an unordered list carries the token for the next round (at
            # the first page's time: changes made while paging come again, never lost).
            answer["nextSyncToken"] = self.world.sync_token(cal.id, mark)
        return 200, answer

    def _since(self, cal: Calendar, token: str) -> int:
        try:
            generation, calendar_id, seq = token_parts(token)
        except ValueError:
            raise ApiFailure(400, "invalid", "Invalid sync token value.",
                             location="syncToken", locationType="parameter") from None
        if generation != self.world.sync_generation or calendar_id != cal.id:
            raise ApiFailure(410, "fullSyncRequired", "Sync token is no longer valid, a full "
                             "sync is required.", location="syncToken",
                             locationType="parameter")
        return seq

    # --- push notifications -------------------------------------------------------------
    def watch_events(self, calendar_id: str) -> tuple[int, Any]:
        """events.watch: a web_hook channel notified of changes to the calendar's events."""
        self.need("events.read")
        cal = self._calendar(calendar_id)
        body = self.body if isinstance(self.body, dict) else {}
        channel_id, address = body.get("id"), body.get("address")
        if body.get("type") not in ("web_hook", "webhook") or not isinstance(channel_id, str) \
                or not isinstance(address, str) or not address.startswith(("http://",
                                                                         "https://")):
            raise ApiFailure(400, "invalid", "Invalid channel: id, type web_hook and an "
                             "https address are required.")
        if channel_id in self.world.channels:
            raise ApiFailure(400, "channelIdNotUnique", "Channel id not unique")
        token = body.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > 256):
            raise ApiFailure(400, "invalid", "Invalid channel token (256 characters at most).")
        lifetime = timedelta(days=7)
        if isinstance(body.get("expiration"), (int, str)):
            try:
                wanted = datetime.fromtimestamp(int(body["expiration"]) / 1000, UTC)
            except (ValueError, OverflowError):
                raise ApiFailure(400, "invalid", "Invalid expiration") from None
            lifetime = min(lifetime, max(timedelta(seconds=1), wanted - datetime.now(UTC)))
        expires = datetime.now(UTC) + lifetime
        channel = Channel(channel_id, secrets.token_urlsafe(20), self.account.email.lower(),
                          cal.id, address, token, expires)
        self.world.channels[channel_id] = channel
        # Google confirms a new channel with a "sync" message first.
        self.world.outbox.append((channel, "sync", 0))
        return 200, {"kind": "api#channel", "id": channel_id,
                     "resourceId": channel.resource_id,
                     "resourceUri": f"{self.request.base_url}calendar/v3/calendars/"
                                    f"{cal.id}/events?alt=json",
                     "token": token, "expiration": str(int(expires.timestamp() * 1000))}

    def stop_channel(self) -> tuple[int, Any]:
        """channels.stop: the channel with this id and resourceId stops notifying."""
        body = self.body if isinstance(self.body, dict) else {}
        channel = self.world.channels.get(str(body.get("id")))
        if channel is None or channel.resource_id != body.get("resourceId") \
                or channel.email != self.account.email.lower():
            raise ApiFailure(404, "notFound", "Channel '" + str(body.get("id")) +
                             "' not found for project")
        del self.world.channels[channel.id]
        self.world.stopped_channels.append(channel)
        return 204, None

    def patch_event(self, calendar_id: str, event_id: str) -> tuple[int, Any]:
        self.need("events.write")
        ev = self._event(calendar_id, event_id)
        send = self._send_updates()
        body = self._parse(EventPatch)
        cal = self._calendar(calendar_id)
        if body.id is not None and body.id != ev.id:
            raise ApiFailure(400, "invalid", "Invalid resource id value.")
        start, end = ev.start, ev.end
        if body.start is not None:
            start, ev.data["_all_day"] = _instant(body.start, cal.time_zone, "start")
        if body.end is not None:
            end, _ = _instant(body.end, cal.time_zone, "end")
        if end < start:
            raise ApiFailure(400, "timeRangeEmpty", "The specified time range is empty.")
        ev.start, ev.end = start, end
        given = body.model_dump(by_alias=True, exclude_none=True,
                                exclude={"start", "end", "id", "conference_data"})
        for key, value in given.items():
            ev.data[key] = [_attendee(x, self.account) for x in value] \
                if key == "attendees" else value
        ev.data["sequence"] = int(ev.data.get("sequence", 0)) + (
            1 if body.start is not None or body.end is not None else 0)
        ev.data["updated"] = stamp()
        ev.data["etag"] = f'"{secrets.randbelow(10**16)}"'
        ev.notifications.append(("patch", send))
        self.world.changed(self.account, ev)
        return 200, self.render(ev)

    def delete_event(self, calendar_id: str, event_id: str) -> tuple[int, Any]:
        self.need("events.write")
        ev = self._event(calendar_id, event_id)
        send = self._send_updates()
        if ev.cancelled:
            raise ApiFailure(410, "deleted", "Resource has been deleted")
        ev.data["status"] = "cancelled"
        ev.data["updated"] = stamp()
        ev.notifications.append(("delete", send))
        self.world.changed(self.account, ev)
        return 204, None


def _blocks(ev: StoredEvent) -> bool:
    """Whether the event makes its owner busy (not cancelled, not transparent, not declined)."""
    if ev.cancelled or ev.data.get("transparency") == "transparent":
        return False
    me = next((x for x in ev.data.get("attendees", []) if x.get("self")), None)
    return me is None or me.get("responseStatus") != "declined"


def _attendee(value: dict[str, Any], account: Account) -> dict[str, Any]:
    out = {"email": value["email"], "responseStatus": value.get("responseStatus",
                                                                "needsAction")}
    if value.get("displayName"):
        out["displayName"] = value["displayName"]
    if value["email"].lower() == account.email.lower():
        out["self"] = True
    return out


def _create_meet(ev: StoredEvent) -> None:
    letters = "abcdefghijklmnopqrstuvwxyz"
    code = "-".join("".join(secrets.choice(letters) for _ in range(n)) for n in (3, 4, 3))
    conference = ev.data["conferenceData"]
    conference["createRequest"]["status"] = {"statusCode": "success"}
    conference.update({
        "entryPoints": [
            {"entryPointType": "video", "uri": f"https://meet.google.com/{code}",
             "label": f"meet.google.com/{code}"},
            {"entryPointType": "more", "uri": f"https://tel.meet/{code}?pin=1234567890",
             "pin": "1234567890"},
        ],
        "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet",
                               "iconUri": "https://fonts.gstatic.com/s/i/productlogos/"
                                          "meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_"
                                          "2x_web_512dp.png"},
        "conferenceId": code,
    })
    ev.data["hangoutLink"] = f"https://meet.google.com/{code}"


_CAL = r"/calendars/(?P<calendar_id>[^/]+)"
_EVENT = _CAL + r"/events/(?P<event_id>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]] = [
    (m, re.compile(p), f) for m, p, f in [
        ("GET", r"/users/me/calendarList", Handler.list_calendars),
        ("GET", r"/users/me/calendarList/(?P<calendar_id>[^/]+)", Handler.get_calendar_entry),
        ("POST", r"/freeBusy", Handler.free_busy),
        ("POST", _CAL + r"/events", Handler.insert_event),
        ("GET", _CAL + r"/events", Handler.list_events),
        ("GET", _EVENT, Handler.get_event),
        ("PATCH", _EVENT, Handler.patch_event),
        ("DELETE", _EVENT, Handler.delete_event),
        ("POST", _CAL + r"/events/watch", Handler.watch_events),
        ("POST", r"/channels/stop", Handler.stop_channel),
    ]
]


def router(world: World) -> APIRouter:
    """Routes of Calendar API v3 bound to ``world``."""
    api = APIRouter()
    logging.getLogger("uvicorn.error").addFilter(_QUIET)

    @api.api_route("/calendar/v3/{path:path}", methods=["GET", "POST", "PATCH", "DELETE"])
    async def calendar(path: str, request: Request) -> Response:
        return await _answer(world, request, "/" + path)

    return api


class _QuietLostAnswers(logging.Filter):
    """uvicorn logs the cut-short answer as an error of the app; here it is the point."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or "declared Content-Length" not in str(error)


class _LostResponse(Response):
    """Declares a longer body than it sends: the connection drops mid-answer, as when a
    response is lost on the way back (the client sees a transport error, not a status)."""

    def __init__(self) -> None:
        super().__init__(b'{"kind": ', status_code=200, media_type="application/json",
                         headers={"content-length": "4096"})


async def _answer(world: World, request: Request, path: str) -> Response:
    raw = await request.body()
    body: Any = None
    account: Account | None = None
    status, payload = 500, None
    reason: str | None = None
    lost = False
    try:
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiFailure(400, "parseError", "Parse Error") from None
        auth = request.headers.get("authorization", "")
        with world.lock:
            token = world.access_tokens.get(auth.removeprefix("Bearer ").strip()) \
                if auth.startswith("Bearer ") else None
            if token is None or token.revoked or token.expires <= datetime.now(UTC):
                raise ApiFailure(401, "authError", "Invalid Credentials",
                                 location="Authorization", locationType="header")
            account = world.account(token.email)
            fault = world.draw_fault(request.method, path)
            if fault is not None and fault != "lost":
                raise rate_limited(fault)
            handler = Handler(world, account, request, body, token.scope)
            for method, pattern, func in ROUTES:
                match = pattern.fullmatch(path)
                if match and method == request.method:
                    status, payload = func(handler, **match.groupdict())
                    break
            else:
                raise ApiFailure(404, *NOT_FOUND)
            lost = fault == "lost"
    except ApiFailure as failure:
        status, payload, reason = failure.status, failure.envelope(), failure.reason
    finally:
        with world.lock:
            world.log.append(RequestRecord("calendar", request.method, path,
                                           dict(request.query_params), status,
                                           account.email if account else None, body,
                                           "lost" if lost else reason))
    deliver(world)
    if lost:
        return _LostResponse()
    if payload is None:
        return Response(status_code=status)
    return Response(json.dumps(payload), status_code=status, media_type="application/json")


_QUIET = _QuietLostAnswers()


def token_parts(token: str) -> tuple[int, str, int]:
    """``(generation, calendar id, sequence)`` of a sync token; ValueError if it is not one."""
    text = base64.urlsafe_b64decode(token.encode() + b"==").decode()
    generation, seq, calendar_id = text.split("|", 2)
    return int(generation), calendar_id, int(seq)


def deliver(world: World) -> None:
    """Post the notifications due (each in its own thread, as Google's pushes arrive on
    their own), unless notifications are blocked (then only recorded)."""
    with world.lock:
        due, world.outbox = world.outbox, []
        blocked = world.notifications_blocked
    for channel, state, number in due:
        if blocked:
            with world.lock:
                world.pushes.append(PushRecord(channel.id, state, None))
            continue
        threading.Thread(target=_push, args=(world, channel, state, number),
                         daemon=True).start()


def _push(world: World, channel: Channel, state: str, number: int) -> None:
    headers = {"X-Goog-Channel-ID": channel.id, "X-Goog-Resource-ID": channel.resource_id,
               "X-Goog-Resource-State": state, "X-Goog-Message-Number": str(number),
               "X-Goog-Channel-Expiration": channel.expiration.strftime(
                   "%a, %d %b %Y %H:%M:%S GMT"),
               "X-Goog-Resource-URI": f"calendar/v3/calendars/{channel.calendar_id}/events"}
    if channel.token is not None:
        headers["X-Goog-Channel-Token"] = channel.token
    status: int | None = None
    try:
        status = httpx.post(channel.address, headers=headers, timeout=5.0).status_code
    except httpx.HTTPError:
        pass
    with world.lock:
        world.pushes.append(PushRecord(channel.id, state, status))

__all__ = ["ApiFailure", "router"]
