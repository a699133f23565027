"""The Graph client and the Outlook adapter against the emulator, through real msal and httpx."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib import resources
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tzlocal.windows_tz import win_tz

from app.settings import Settings
from calendar_backend.outlook import auth
from calendar_backend.outlook.calendar import OutlookCalendar, transaction_id
from calendar_backend.outlook.graph_client import GraphClient, retry_after_seconds
from calendar_backend.outlook.windows_zones import iana_zone
from calendar_backend.provider import Attendee, CalendarUnavailable, EventNotFound, NewEvent
from tests.fakes.microsoft import MicrosoftEmulator, fixtures

emulator, ms_settings = fixtures.emulator, fixtures.ms_settings

WORK, PERSONAL = "adele@contoso.com", "julie@outlook.com"
DAY = datetime(2030, 3, 5, tzinfo=UTC)


def sign_in(settings: Settings, emu: MicrosoftEmulator, username: str) -> auth.SignedIn:
    """The browser leg done by hand: open the sign-in URL, follow nothing, redeem the code."""
    emu.sign_in_as(username)
    config = settings.outlook()
    flow = auth.start_flow(config)
    answer = httpx.get(auth.public_sign_in_url(config, flow["auth_uri"]))
    assert answer.status_code == 302
    redirect = urlsplit(answer.headers["location"])
    return auth.finish_flow(config, flow, dict(parse_qsl(redirect.query)))


class MemoryTokens:
    """A token source over an in-memory MSAL cache (the database-backed one is tested apart)."""

    def __init__(self, settings: Settings, signed: auth.SignedIn) -> None:
        self.config = settings.outlook()
        self.cache, self.home = signed.cache, signed.home_account_id
        self.refreshes = 0
        self.lost: list[str] = []

    async def access_token(self, *, force_refresh: bool = False) -> str:
        self.refreshes += force_refresh
        token = await asyncio.to_thread(auth.acquire_silently, self.config, self.cache,
                                        self.home, force_refresh=force_refresh)
        self.cache = token.cache or self.cache
        return token.access_token

    async def consent_lost(self, reason: str) -> None:
        self.lost.append(reason)


def calendar_for(settings: Settings, emu: MicrosoftEmulator, username: str, *,
                 budget: float = 4.0, page_size: int = 100) -> tuple[OutlookCalendar, MemoryTokens]:
    signed = sign_in(settings, emu, username)
    tokens = MemoryTokens(settings, signed)
    account = emu.world.account(username)
    cal = account.calendar(None)
    assert cal is not None
    graph = GraphClient(settings.graph_base_url, tokens, mailbox=username, budget_seconds=budget)
    return OutlookCalendar(graph, cal.id, owner_zone=iana_zone(account.time_zone),
                           teams_allowed="teamsForBusiness" in cal.allowed_providers,
                           page_size=page_size), tokens


def new_event(key: str, start: datetime, *, online: bool = True, subject: str = "Intro call"
              ) -> NewEvent:
    return NewEvent(idempotency_key=key, subject=subject, body="Booked by phone.",
                    start=start, end=start + timedelta(minutes=30),
                    attendees=[Attendee(email="caller@example.org", name="Sam Caller")],
                    location="+1 415 555 0100", online_meeting=online)


async def test_busy_times_page_through_calendar_view_and_skip_free_time(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    for hour, show_as in [(9, "busy"), (10, "free"), (11, "tentative"), (12, "oof"),
                          (13, "workingElsewhere"), (14, "unknown")]:
        emulator.add_event(WORK, DAY.replace(hour=hour), DAY.replace(hour=hour, minute=45),
                           show_as=show_as)
    emulator.add_event(WORK, DAY.replace(hour=15), DAY.replace(hour=16), is_cancelled=True)
    calendar, _ = calendar_for(ms_settings, emulator, WORK, page_size=2)
    emulator.clear_log()
    busy = await calendar.busy_times(DAY, DAY + timedelta(days=1))
    assert [(b.start.hour, b.show_as) for b in busy] == [
        (9, "busy"), (11, "tentative"), (12, "oof"), (14, "unknown")]
    views = emulator.requests(path_contains="calendarView")
    assert len(views) == 4  # 7 events, 2 a page
    assert all(r.query["$top"] == "2" for r in views)


async def test_work_account_books_with_attendee_and_teams_link(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    assert await calendar.can_add_online_meeting()
    assert await calendar.time_zone() == "America/Los_Angeles"
    created = await calendar.create_event(new_event("b-1", DAY.replace(hour=10)))
    assert created.online_meeting_url and created.online_meeting_url.startswith(
        "https://teams.microsoft.com/")
    [event] = emulator.events(WORK)
    assert event.id == created.event_id
    assert event.data["attendees"][0]["emailAddress"]["address"] == "caller@example.org"
    assert event.data["attendees"][0]["type"] == "required"
    assert event.data["transactionId"] == transaction_id("b-1")
    assert event.start == DAY.replace(hour=10)
    [post] = emulator.requests(method="POST")
    assert post.body["start"] == {"dateTime": "2030-03-05T10:00:00", "timeZone": "UTC"}
    assert post.body["location"] == {"displayName": "+1 415 555 0100"}


async def test_personal_account_books_without_a_teams_link(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, PERSONAL)
    assert not await calendar.can_add_online_meeting()
    assert await calendar.time_zone() == "Europe/Berlin"
    created = await calendar.create_event(new_event("p-1", DAY.replace(hour=10)))
    assert created.online_meeting_url is None
    [post] = emulator.requests(method="POST")
    assert "isOnlineMeeting" not in post.body


async def test_emulator_silently_drops_teams_on_personal_accounts(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    # Even if asked, a personal mailbox answers 201 without a meeting: the join URL is read,
    # never assumed.
    emulator.world.account(PERSONAL).calendars[0].allowed_providers = ["teamsForBusiness"]
    calendar, _ = calendar_for(ms_settings, emulator, PERSONAL)
    created = await calendar.create_event(new_event("p-2", DAY.replace(hour=11)))
    [post] = emulator.requests(method="POST")
    assert post.body["isOnlineMeeting"] is True
    assert created.online_meeting_url is None


async def test_throttled_requests_wait_retry_after_and_succeed(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    emulator.queue_fault(429, "TooManyRequests", retry_after="0.15", method="POST")
    emulator.queue_fault(503, "ServiceNotAvailable", retry_after="0.05", method="POST")
    started = asyncio.get_running_loop().time()
    created = await calendar.create_event(new_event("b-2", DAY.replace(hour=9)))
    assert asyncio.get_running_loop().time() - started >= 0.2
    assert [r.status for r in emulator.requests(method="POST")] == [429, 503, 201]
    assert [e.id for e in emulator.events(WORK)] == [created.event_id]


async def test_throttling_past_the_budget_says_calendar_unavailable_and_books_nothing(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK, budget=0.5)
    for _ in range(5):
        emulator.queue_fault(429, "TooManyRequests", retry_after="0.3", method="POST")
    with pytest.raises(CalendarUnavailable, match="not answering"):
        await calendar.create_event(new_event("b-3", DAY.replace(hour=9)))
    assert emulator.events(WORK) == []


async def test_http_date_retry_after_is_honoured(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    when = format_datetime(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1),
                           usegmt=True)
    emulator.queue_fault(503, "ServiceNotAvailable", retry_after=when,
                         path_contains="calendarView")
    assert await calendar.busy_times(DAY, DAY + timedelta(hours=1)) == []
    assert [r.status for r in emulator.requests(path_contains="calendarView")] == [503, 200]


async def test_create_whose_answer_was_lost_is_not_booked_twice(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    emulator.queue_fault(504, "GatewayTimeout", retry_after="0.05", method="POST",
                         after_processing=True)
    created = await calendar.create_event(new_event("b-4", DAY.replace(hour=13)))
    assert [r.status for r in emulator.requests(method="POST")] == [504, 201]
    assert [e.id for e in emulator.events(WORK)] == [created.event_id]


async def test_reused_transaction_id_finds_the_existing_event(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    first = await calendar.create_event(new_event("b-5", DAY.replace(hour=14)))
    again = await calendar.create_event(new_event("b-5", DAY.replace(hour=14), subject="Other"))
    assert again.event_id == first.event_id
    assert [r.status for r in emulator.requests(method="POST")] == [201, 400]
    assert len(emulator.events(WORK)) == 1


async def test_expired_access_token_is_refreshed_once(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, tokens = calendar_for(ms_settings, emulator, WORK)
    await calendar.busy_times(DAY, DAY + timedelta(hours=1))
    emulator.expire_access_tokens(WORK)
    await calendar.busy_times(DAY, DAY + timedelta(hours=1))
    assert tokens.refreshes == 1
    assert [r.status for r in emulator.requests(path_contains="calendarView")] == [200, 401, 200]


async def test_revoked_consent_is_reported_for_reconnection(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, tokens = calendar_for(ms_settings, emulator, WORK)
    # A token without calendar scopes: Graph answers 403 ErrorAccessDenied.
    for token in emulator.world.access_tokens.values():
        token.scope = "User.Read"
    with pytest.raises(CalendarUnavailable) as failure:
        await calendar.busy_times(DAY, DAY + timedelta(hours=1))
    assert failure.value.needs_reconnect
    assert tokens.lost and "ErrorAccessDenied" in tokens.lost[0]


async def test_no_more_than_four_requests_in_flight_per_mailbox(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    emulator.set_latency(0.1)
    await asyncio.gather(*(calendar.busy_times(DAY, DAY + timedelta(hours=h))
                           for h in range(1, 11)))
    statuses = [r.status for r in emulator.requests(path_contains="calendarView")]
    assert statuses == [200] * 10


async def test_emulator_answers_mailbox_concurrency_429_above_four_in_flight(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    signed = sign_in(ms_settings, emulator, WORK)
    emulator.set_latency(0.2)
    async with httpx.AsyncClient() as http:
        answers = await asyncio.gather(*(http.get(
            f"{emulator.graph_base_url}/me", headers={"Authorization":
                                                      f"Bearer {signed.access_token}"})
            for _ in range(6)))
    throttled = [a for a in answers if a.status_code == 429]
    assert len(throttled) == 2
    assert throttled[0].json()["error"]["code"] == "ApplicationThrottled"
    assert throttled[0].headers["Retry-After"]


def calendars_on_one_mailbox(settings: Settings, emu: MicrosoftEmulator, username: str,
                             count: int, *, budget: float = 10.0) -> list[OutlookCalendar]:
    """``count`` adapters, each with its own Graph client, as concurrent calls have them.

    The mailbox key is fresh, so a hold left by this test never delays another.
    """
    tokens = MemoryTokens(settings, sign_in(settings, emu, username))
    cal = emu.world.account(username).calendar(None)
    assert cal is not None
    mailbox = f"{username}-{uuid.uuid4()}"
    return [OutlookCalendar(GraphClient(settings.graph_base_url, tokens, mailbox=mailbox,
                                        budget_seconds=budget), cal.id,
                            owner_zone="America/Los_Angeles", teams_allowed=True)
            for _ in range(count)]


async def test_a_retry_after_holds_every_booking_on_the_mailbox_not_just_the_throttled_one(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendars = calendars_on_one_mailbox(ms_settings, emulator, WORK, 16)
    emulator.set_latency(0.02)  # requests overlap: some are queued when the 429 comes back
    emulator.queue_fault(429, "TooManyRequests", retry_after="0.4",
                         path_contains="calendarView", skip=2)
    emulator.queue_fault(503, "ServiceNotAvailable", retry_after="0.3", method="POST", skip=3)

    async def call(n: int, calendar: OutlookCalendar) -> None:
        await calendar.busy_times(DAY, DAY + timedelta(days=1))
        await calendar.create_event(new_event(f"held-{n}", DAY + timedelta(hours=n)))

    await asyncio.gather(*(call(n, c) for n, c in enumerate(calendars)))
    assert {429, 503} <= {r.status for r in emulator.requests()}
    assert emulator.early_retries(WORK) == []
    assert len(emulator.events(WORK)) == 16


async def test_a_hold_longer_than_the_budget_fails_other_calls_without_sending(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    throttled, other = calendars_on_one_mailbox(ms_settings, emulator, WORK, 2, budget=1.0)
    emulator.queue_fault(429, "TooManyRequests", retry_after="30", path_contains="calendarView")
    with pytest.raises(CalendarUnavailable):
        await throttled.busy_times(DAY, DAY + timedelta(days=1))
    with pytest.raises(CalendarUnavailable):
        await other.create_event(new_event("held-past-budget", DAY.replace(hour=9)))
    assert [r.status for r in emulator.requests()] == [429]
    assert emulator.events(WORK) == []


async def test_emulator_records_a_request_sent_inside_a_retry_after_window(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    # The check behind the two tests above: a client that ignores the window is caught.
    signed = sign_in(ms_settings, emulator, WORK)
    emulator.queue_fault(429, "TooManyRequests", retry_after="30", path_contains="/me")
    bearer = {"Authorization": f"Bearer {signed.access_token}"}
    async with httpx.AsyncClient() as http:
        first = await http.get(f"{emulator.graph_base_url}/me", headers=bearer)
        assert first.status_code == 429
        assert emulator.early_retries(WORK) == []
        await http.get(f"{emulator.graph_base_url}/me", headers=bearer)
    [early] = emulator.early_retries(WORK)
    assert (early.method, early.path) == ("GET", "/me")
    assert emulator.early_retries(PERSONAL) == []


async def test_emulator_refuses_bodies_real_graph_would_refuse(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    signed = sign_in(ms_settings, emulator, WORK)
    headers = {"Authorization": f"Bearer {signed.access_token}", "client-request-id": "abc"}
    good = {"subject": "x", "start": {"dateTime": "2030-03-05T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-03-05T10:30:00", "timeZone": "UTC"}}
    cases = [
        ({**good, "attendee": []}, "RequestBodyRead"),
        ({**good, "showAs": "sleeping"}, "RequestBodyRead"),
        ({**good, "attendees": [{"emailAddress": {"address": "a@b.c", "nam": "A"}}]},
         "RequestBodyRead"),
        ({**good, "start": {"dateTime": "2030-03-05T10:00:00", "timeZone": "Mars/Olympus"}},
         "TimeZoneNotSupportedException"),
    ]
    async with httpx.AsyncClient(base_url=emulator.graph_base_url) as http:
        for body, code in cases:
            answer = await http.post("/me/events", json=body, headers=headers)
            assert answer.status_code == 400
            error = answer.json()["error"]
            assert error["code"] == code
            assert error["innerError"]["client-request-id"] == "abc"
        assert (await http.post("/me/events", json=good, headers=headers)).status_code == 201
        missing = await http.get("/me/events/AAMkAAAA", headers=headers)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "ErrorItemNotFound"
        malformed = await http.get("/me/events/not-an-id", headers=headers)
        assert malformed.json()["error"]["code"] == "ErrorInvalidIdMalformed"
        anonymous = await http.get("/me")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"


async def test_move_and_cancel_an_event(emulator: MicrosoftEmulator,
                                        ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    created = await calendar.create_event(new_event("b-6", DAY.replace(hour=9)))
    moved = await calendar.move_event(created.event_id, DAY.replace(hour=15),
                                      DAY.replace(hour=15, minute=30))
    assert moved.event_id == created.event_id
    [event] = emulator.events(WORK)
    assert event.start == DAY.replace(hour=15)
    await calendar.cancel_event(created.event_id, "The caller cancelled.")
    assert emulator.events(WORK) == []
    [cancelled] = emulator.events(WORK, include_deleted=True)
    assert cancelled.cancel_comment == "The caller cancelled."
    with pytest.raises(EventNotFound):
        await calendar.move_event(created.event_id, DAY, DAY + timedelta(minutes=30))
    with pytest.raises(EventNotFound):
        await calendar.cancel_event(created.event_id, "again")


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_retry_after_seconds_reads_fractional_seconds(seconds: float) -> None:
    assert retry_after_seconds(repr(seconds)) == pytest.approx(seconds)


@given(st.integers(min_value=-10_000, max_value=10_000))
def test_retry_after_reads_http_dates(offset: int) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    value = format_datetime(now + timedelta(seconds=offset), usegmt=True)
    assert retry_after_seconds(value, now) == max(0, offset)


@given(st.text())
def test_retry_after_never_raises_on_junk(value: str) -> None:
    result = retry_after_seconds(value)
    assert result is None or result >= 0


def test_windows_zone_names_map_to_iana_and_unknowns_fall_back() -> None:
    assert iana_zone("Pacific Standard Time") == "America/Los_Angeles"
    assert iana_zone("India Standard Time") == "Asia/Kolkata"
    assert iana_zone("Asia/Calcutta") == "Asia/Kolkata"
    assert iana_zone("UTC") == "UTC"
    assert iana_zone("Europe/Paris") == "Europe/Paris"
    assert iana_zone("Customized Time Zone") is None
    assert iana_zone("") is None
    assert iana_zone(None) is None


def test_every_windows_zone_name_maps_to_a_canonical_iana_name() -> None:
    # zone.tab lists the canonical name of every zone a country uses; Etc/ zones are the rest.
    tab = (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text()
    canonical = {line.split("\t")[2] for line in tab.splitlines()
                 if line and not line.startswith("#")}
    mapped = {iana_zone(name) for name in win_tz}
    assert {zone for zone in mapped if zone and zone not in canonical
            and not zone.startswith("Etc/") and zone != "UTC"} == set()


async def test_create_that_landed_unheard_before_the_budget_ran_out_counts_as_booked(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK, budget=0.5)
    emulator.queue_fault(504, "GatewayTimeout", retry_after="0.05", method="POST",
                         after_processing=True)
    for _ in range(3):
        emulator.queue_fault(503, "ServiceNotAvailable", retry_after="0.3", method="POST")
    created = await calendar.create_event(new_event("b-7", DAY.replace(hour=16)))
    assert [e.id for e in emulator.events(WORK)] == [created.event_id]
    assert len(emulator.requests(path_contains="calendarView")) == 1


async def test_create_that_never_landed_fails_without_an_event(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK, budget=0.5)
    emulator.queue_fault(504, "GatewayTimeout", retry_after="0.05", method="POST")
    for _ in range(3):
        emulator.queue_fault(503, "ServiceNotAvailable", retry_after="0.3", method="POST")
    with pytest.raises(CalendarUnavailable):
        await calendar.create_event(new_event("b-8", DAY.replace(hour=16)))
    assert emulator.events(WORK) == []


async def test_all_day_out_of_office_blocks_the_owners_whole_day(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    # An all-day event made in Pacific time: Graph returns it in that zone, not in UTC.
    midnight = datetime(2030, 3, 6, 8, 0, tzinfo=UTC)  # 00:00 PST
    emulator.add_event(WORK, midnight, midnight + timedelta(days=1), show_as="oof",
                       all_day_zone="Pacific Standard Time")
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    [busy] = await calendar.busy_times(DAY, DAY + timedelta(days=3))
    assert (busy.start, busy.end, busy.show_as) == (midnight, midnight + timedelta(days=1), "oof")
    [view] = emulator.requests(path_contains="calendarView")
    assert view.status == 200


async def test_recurring_series_block_every_occurrence(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    emulator.add_event(WORK, DAY.replace(hour=17), DAY.replace(hour=18), subject="Weekly 1:1",
                       repeat_weekly=4)
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    busy = await calendar.busy_times(DAY, DAY + timedelta(weeks=3))
    assert [b.start for b in busy] == [DAY.replace(hour=17) + timedelta(weeks=w)
                                       for w in range(3)]


async def test_emulator_answers_in_the_preferred_zone(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    signed = sign_in(ms_settings, emulator, WORK)
    emulator.add_event(WORK, DAY.replace(hour=17), DAY.replace(hour=18))
    answer = httpx.get(
        f"{emulator.graph_base_url}/me/calendar/calendarView",
        params={"startDateTime": "2030-03-05T00:00:00-08:00",
                "endDateTime": "2030-03-06T00:00:00", "$select": "start,end"},
        headers={"Authorization": f"Bearer {signed.access_token}",
                 "Prefer": 'outlook.timezone="Pacific Standard Time"'})
    [event] = answer.json()["value"]
    assert event["start"] == {"dateTime": "2030-03-05T09:00:00.0000000",
                              "timeZone": "Pacific Standard Time"}
    assert set(event) == {"@odata.etag", "id", "start", "end"}


_SHOW_AS = st.sampled_from(["busy", "free", "tentative", "oof", "workingElsewhere", "unknown"])
_EVENTS = st.lists(st.tuples(st.integers(0, 95), st.integers(1, 16), _SHOW_AS, st.booleans()),
                   max_size=25)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_EVENTS, page_size=st.integers(1, 7), window=st.tuples(st.integers(0, 95),
                                                                     st.integers(1, 96)))
def test_busy_times_are_exactly_the_blocking_events_overlapping_the_window(
        emulator: MicrosoftEmulator, ms_settings: Settings,
        events: list[tuple[int, int, str, bool]], page_size: int, window: tuple[int, int],
) -> None:
    """Whatever the events and the page size, paging loses and duplicates nothing."""
    quarter = timedelta(minutes=15)
    account = emulator.world.account(WORK)
    if not hasattr(emulator, "_signed"):
        emulator._signed = sign_in(ms_settings, emulator, WORK)  # type: ignore[attr-defined]
    with emulator.world.lock:
        account.events.clear()
    for begin, length, show_as, cancelled in events:
        emulator.add_event(WORK, DAY + begin * quarter, DAY + (begin + length) * quarter,
                           show_as=show_as, is_cancelled=cancelled)
    start, end = DAY + window[0] * quarter, DAY + (window[0] + window[1]) * quarter
    expected = sorted(
        (DAY + b * quarter, DAY + (b + n) * quarter) for b, n, show_as, cancelled in events
        if not cancelled and show_as in ("busy", "tentative", "oof", "unknown")
        and DAY + b * quarter < end and DAY + (b + n) * quarter > start)

    async def read() -> list[tuple[datetime, datetime]]:
        tokens = MemoryTokens(ms_settings, emulator._signed)  # type: ignore[attr-defined]
        graph = GraphClient(ms_settings.graph_base_url, tokens, mailbox=WORK)
        calendar = OutlookCalendar(graph, account.calendar(None).id, owner_zone=None,
                                   teams_allowed=True, page_size=page_size)
        return sorted((b.start, b.end) for b in await calendar.busy_times(start, end))

    assert asyncio.run(read()) == expected


async def test_every_request_asks_for_immutable_ids_and_utc(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    _, tokens = calendar_for(ms_settings, emulator, WORK)
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request.headers["Prefer"])

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        graph = GraphClient(ms_settings.graph_base_url, tokens, mailbox=WORK, http=http)
        cal_id = emulator.world.account(WORK).calendar(None).id
        outlook = OutlookCalendar(graph, cal_id, owner_zone=None, teams_allowed=True)
        await outlook.busy_times(DAY, DAY + timedelta(hours=1))
        await outlook.create_event(new_event("b-9", DAY.replace(hour=10)))
    assert seen == ['IdType="ImmutableId", outlook.timezone="UTC"'] * 2


async def test_account_without_an_exchange_mailbox_is_unavailable(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    emulator.world.account(WORK).mailbox_enabled = False
    with pytest.raises(CalendarUnavailable, match="no Exchange Online mailbox"):
        await calendar.busy_times(DAY, DAY + timedelta(hours=1))
    [answer] = emulator.requests(path_contains="calendarView")
    assert answer.status == 404


async def test_withdrawing_survives_a_cancel_whose_answer_was_lost(
        emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    calendar, _ = calendar_for(ms_settings, emulator, WORK)
    event = new_event("b-10", DAY.replace(hour=12))
    await calendar.create_event(event)
    emulator.queue_fault(504, "GatewayTimeout", retry_after="0.05", method="POST",
                         path_contains="/cancel", after_processing=True)
    assert await calendar.withdraw("b-10", event.start, event.end, "Withdrawn.")
    assert emulator.events(WORK) == []
    assert [r.status for r in emulator.requests(path_contains="/cancel")] == [504, 404]
    assert not await calendar.withdraw("b-10", event.start, event.end, "Withdrawn.")
