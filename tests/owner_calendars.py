"""What the Outlook and Google tests share: one owner's calendar on its emulator, driven
through the product's own sign-in, token store, booking, watch (subscription or channel) and
sync functions, so one test body checks a behaviour on both providers.

Use the fixtures by binding them in the test module, with the emulators' own fixtures:
``owner_calendar`` (both providers, one test each), ``outlook_calendar``, ``google_calendar``
and ``receiver`` (the call server's notification route for ``owner_calendar``)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import APIRouter, WebSocket
from pydantic import SecretStr

from app.bootstrap import google_notifications, outlook_notifications
from app.call_server import CampaignDirectory, create_app
from app.campaign_files import parse_campaign
from app.settings import Settings
from calendar_backend.booking import Booked, BookingService
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.calendar_sync import SyncStatus
from calendar_backend.google import channels as google_channels
from calendar_backend.google import connections as google_connections
from calendar_backend.google import follow as google_follow
from calendar_backend.google import sign_in as google_sign_in
from calendar_backend.google import sync as google_sync
from calendar_backend.google.auth import SignInFailed as GoogleSignInFailed
from calendar_backend.outlook import connections as outlook_connections
from calendar_backend.outlook import follow as outlook_follow
from calendar_backend.outlook import sign_in as outlook_sign_in
from calendar_backend.outlook import subscriptions as outlook_subscriptions
from calendar_backend.outlook import sync as outlook_sync
from calendar_backend.outlook.auth import SignInFailed as OutlookSignInFailed
from calendar_backend.provider import Attendee, CalendarProvider
from calendar_backend.sql_store import SqlBookingStore
from storage.booking_tables import BookingStatus
from storage.database import Database
from telephony.phone_pipeline import AdmittedCall
from tests.calendar_helpers import browser
from tests.fakes.google import GoogleEmulator
from tests.fakes.google.fixtures import OWNER as GOOGLE_OWNER
from tests.fakes.loopback import BackgroundServer, free_port
from tests.fakes.microsoft import MicrosoftEmulator
from tests.fakes.microsoft.fixtures import WORK as OUTLOOK_OWNER

CALLERS = [Attendee(email=f"caller{i}@example.org", name=f"Caller {i}") for i in range(3)]


def _next_monday() -> datetime:
    """A Monday two weeks or so ahead, 16:00 UTC (08:00 in Los Angeles, 11:00 in New York,
    give or take DST): inside the sync window, which follows the real clock."""
    today = datetime.now(UTC).replace(hour=16, minute=0, second=0, microsecond=0)
    return today + timedelta(days=14 + (7 - today.weekday()) % 7)


NOW = _next_monday()


async def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until ``check()`` holds (notifications are answered in the background)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "it never happened"
        await asyncio.sleep(0.05)


@dataclass
class OwnerCalendar(ABC):
    """The owner's calendar on one provider's emulator and the product functions that follow
    it; ``settings`` points the product at that emulator."""

    database: Database
    settings: Settings
    emulator: Any  # a MicrosoftEmulator or a GoogleEmulator: the methods used here are alike

    name: ClassVar[str]
    owner: ClassVar[str]
    sign_in_failed: ClassVar[type[Exception]]  # what a sign-in that cannot complete raises
    stored_token_query: ClassVar[str]  # the connection's token, as stored
    accepted_status: ClassVar[int]  # what the route answers any well-formed notification
    expired_sync_reason: ClassVar[str]  # the 410's reason once the sync state ran out
    availability_path: ClassVar[str]  # the provider's live free/busy request
    meeting_link_prefix: ClassVar[str]
    watch_kept_warning: ClassVar[str]  # logged (``{ref}``) when a watch outlives its disconnect

    @abstractmethod
    def config(self, settings: Settings | None = None) -> Any:
        """The provider's config from ``settings`` (or the calendar's own)."""

    @abstractmethod
    async def begin_sign_in(self, settings: Settings | None = None) -> str:
        """Start a sign-in: the URL the owner's browser opens."""

    @abstractmethod
    async def complete_sign_in(self, redirect: str, settings: Settings | None = None) -> Any:
        """Finish the sign-in the browser was redirected back from: the connection."""

    @abstractmethod
    def require_token_key(self, settings: Settings) -> None:
        """What ``serve`` checks before it starts: stored tokens need the key."""

    async def connect(self, settings: Settings | None = None) -> str:
        """Sign the owner in (``settings`` or the calendar's own); returns the calendar ref."""
        self.emulator.sign_in_as(self.owner)
        landed = browser(await self.begin_sign_in(settings))
        return str((await self.complete_sign_in(landed, settings)).ref)

    def follows_nothing(self, ref: str) -> bool:
        """Whether ``ref`` has no sync state (nor watch) and no synced copy left."""
        return self.sync_status(ref) == SyncStatus(None, None, None, None) \
            and self.synced(ref) == []

    @abstractmethod
    def sync_status(self, ref: str) -> SyncStatus:
        """What the product knows of ``ref``'s sync."""

    async def followed_booking(self, receiver: str) -> tuple[str, Booked]:
        """A connection with a booking on it, watched (its first notification answered) and
        synced: its ref and the booking."""
        ref = await self.connect()
        booked = await self.book(ref, 0)
        await self.watch(ref, receiver)
        await self.sync(ref)
        await self.notifications_answered(1)
        return ref, booked

    def refresh_tokens(self) -> list[str]:
        """The refresh tokens the provider has handed out."""
        return [t.value for t in self.emulator.world.refresh_tokens.values()]

    @abstractmethod
    def open(self, settings: Settings, ref: str) -> CalendarProvider | None:
        """The provider a call opens for ``ref``."""

    @abstractmethod
    async def sync(self, ref: str, *, page_size: int | None = None) -> Any:
        """One sync round of ``ref`` (its ``SyncResult``)."""

    @abstractmethod
    def synced(self, ref: str) -> list[Any]:
        """The synced copy of ``ref``'s events."""

    @abstractmethod
    async def watch(self, ref: str, url: str, *, now: datetime | None = None) -> str:
        """Subscribe ``url`` to ``ref``'s changes: ``created``, ``renewed`` or ``kept``."""

    @abstractmethod
    def watches(self) -> list[str]:
        """The URLs the provider notifies for the owner, one a live subscription/channel."""

    @abstractmethod
    def watch_ids(self, *, ended: bool = False) -> list[tuple[str, ...]]:
        """What names each live subscription/channel of the owner (or each one the product
        ended: deleted at Graph, stopped at Google)."""

    @abstractmethod
    def live_watch(self) -> Any:
        """The owner's one live subscription/channel, as the emulator has it."""

    @abstractmethod
    def post_change(self, receiver: str, watch: Any, event_id: str) -> int:
        """POST ``receiver`` the notification the provider sends on ``watch`` when the event
        changes; the HTTP status it answers."""

    @abstractmethod
    def watch_secret(self) -> str:
        """The secret the live watch's notifications carry (never logged)."""

    @abstractmethod
    def refuse_to_end_watches(self) -> None:
        """The provider will not end the owner's watch when the product asks."""

    @abstractmethod
    async def disconnect(self, ref: str) -> Any:
        """Disconnect ``ref`` as the operator does: the connection as left."""

    @abstractmethod
    async def follow_once(self, url: str) -> None:
        """The scheduled pass over every connection: watch and sync."""

    @abstractmethod
    def keep_synced(self, interval: float, url: str,
                    stop: asyncio.Event) -> Coroutine[Any, Any, None]:
        """The schedule the server runs, every ``interval`` seconds until ``stop``."""

    @abstractmethod
    def notification_router(self, settings: Settings) -> APIRouter:
        """The call server's route the provider notifies."""

    @abstractmethod
    def notification_url(self, settings: Settings) -> str | None:
        """The route's public URL, as ``serve`` makes it from ``settings``."""

    @abstractmethod
    async def notifications_answered(self, count: int) -> list[int | None]:
        """Wait for the notifications sent so far (at least ``count``: Google's are known only
        once answered) to be answered and their syncs done; their HTTP statuses."""

    @abstractmethod
    def add_event(self, start: datetime, end: datetime, subject: str, *,
                  free: bool = False) -> str:
        """An event the owner made (showing them ``free`` or busy); returns its id."""

    def owner_deletes(self, event_id: str) -> None:
        """The owner deletes the event in their calendar."""
        self.emulator.owner_deletes(self.owner, event_id)

    def owner_moves(self, event_id: str, start: datetime, end: datetime) -> None:
        """The owner drags the event to ``[start, end)``."""
        self.emulator.owner_moves(self.owner, event_id, start, end)

    @abstractmethod
    def owner_touches(self, event_id: str) -> None:
        """The event changes again without a new answer from its attendee."""

    @abstractmethod
    def attendee_declines(self, event_id: str, email: str) -> None:
        """``email`` declines the invitation."""

    def block_notifications(self) -> None:
        """Notifications stop reaching the call server."""
        self.emulator.block_notifications()

    @abstractmethod
    def expire_sync_state(self) -> None:
        """Every delta link or sync token handed out answers 410 from now on."""

    @abstractmethod
    def expired_sync_reasons(self) -> list[str]:
        """The reasons of the 410s the provider answered."""

    def event_ids(self) -> set[str]:
        """The ids of the events on the owner's calendar."""
        return {e.id for e in self.emulator.events(self.owner)}

    def availability_reads(self) -> int:
        """How often free/busy was read live since the request log was cleared."""
        return len(self.emulator.requests(path_contains=self.availability_path))

    def requests_made(self) -> int:
        """How many calendar API requests the product made since the log was cleared."""
        return len(self.emulator.requests())

    def clear_log(self) -> None:
        """Forget the requests the provider has seen."""
        self.emulator.clear_log()

    async def service(self, ref: str, settings: Settings | None = None) -> BookingService:
        """What a call does when booking is on: open the calendar, read availability once."""
        provider = self.open(settings or self.settings, ref)
        assert provider is not None
        booking = BookingSettings(enabled=True, calendar=ref, meeting_length_minutes=30,
                                  meeting_type="video",
                                  title_template="Intro with {recipient.fullName}")
        svc = BookingService.on_database(self.database, provider, booking, calendar_id=ref,
                                         campaign_name="Spring outreach",
                                         calendar_zone=await provider.time_zone())
        await svc.load_availability(NOW)
        return svc

    async def book(self, ref: str, i: int, slot: int = 0) -> Booked:
        """``CALLERS[i]`` books the ``slot``-th free slot on a call."""
        svc = await self.service(ref)
        slots = await svc.free_slots(NOW, limit=slot + 1)
        booked = await svc.book(start=slots[slot].start, attendee=CALLERS[i],
                                call_id=f"call-{i}", recipient=recipient(i), now=NOW)
        assert isinstance(booked, Booked)
        return booked

    async def offered(self, ref: str, settings: Settings | None = None) -> list[datetime]:
        """The first six slots a call would offer."""
        svc = await self.service(ref, settings)
        return [s.start for s in await svc.free_slots(NOW, limit=6)]

    def status(self, ref: str, booking_id: str) -> BookingStatus:
        """The booking's status as stored."""
        [record] = [r for r in SqlBookingStore(self.database, ref).records()
                    if r.id == booking_id]
        return record.status


def recipient(i: int) -> Recipient:
    """``CALLERS[i]`` as the booking's recipient."""
    caller = CALLERS[i]
    first, _, last = (caller.name or "").partition(" ")
    return Recipient(first_name=first, last_name=last, phone="+14155550100", email=caller.email)


@dataclass
class OutlookCalendar(OwnerCalendar):
    """Adele's work calendar on the Microsoft emulator (Los Angeles)."""

    emulator: MicrosoftEmulator

    name = "outlook"
    owner = OUTLOOK_OWNER
    sign_in_failed = OutlookSignInFailed
    stored_token_query = "SELECT token_cache FROM outlook_connections"
    accepted_status = 202
    expired_sync_reason = "syncStateNotFound"
    availability_path = "calendarView"
    meeting_link_prefix = "https://teams.microsoft.com/l/meetup-join/"
    watch_kept_warning = "Graph did not delete the subscription of {ref} (HTTP 400 InvalidRequest)"

    def config(self, settings: Settings | None = None) -> Any:
        return (settings or self.settings).outlook()

    async def begin_sign_in(self, settings: Settings | None = None) -> str:
        return outlook_sign_in.begin_sign_in(self.database, self.config(settings))

    async def complete_sign_in(self, redirect: str, settings: Settings | None = None) -> Any:
        return await outlook_sign_in.complete_sign_in(self.database, self.config(settings),
                                                      redirect)

    def require_token_key(self, settings: Settings) -> None:
        outlook_connections.require_token_key(self.database, settings.outlook())

    def open(self, settings: Settings, ref: str) -> CalendarProvider | None:
        return outlook_connections.open_calendar(self.database, settings.outlook(), ref)

    async def sync(self, ref: str, *, page_size: int | None = None) -> Any:
        pages = {} if page_size is None else {"page_size": page_size}
        return await outlook_sync.sync_calendar(self.database, self.config(), ref,
                                                **pages)

    def synced(self, ref: str) -> list[Any]:
        return list(outlook_sync.synced_events(self.database, ref))

    async def watch(self, ref: str, url: str, *, now: datetime | None = None) -> str:
        return await outlook_subscriptions.ensure_subscription(
            self.database, self.config(), ref, url, now=now)

    def watches(self) -> list[str]:
        return [s.notification_url for s in self.emulator.subscriptions(self.owner)]

    def watch_ids(self, *, ended: bool = False) -> list[tuple[str, ...]]:
        subs = (self.emulator.deleted_subscriptions if ended else self.emulator.subscriptions)
        return [(s.id,) for s in subs(self.owner)]

    def live_watch(self) -> Any:
        [sub] = self.emulator.subscriptions(self.owner)
        return sub

    def post_change(self, receiver: str, watch: Any, event_id: str) -> int:
        return int(self.emulator.send_notification(receiver, [
            {"subscriptionId": watch.id, "clientState": watch.client_state,
             "changeType": "deleted", "resource": f"Users/{self.owner}/Events/{event_id}"},
        ]).status)

    def watch_secret(self) -> str:
        secret = self.live_watch().client_state
        assert secret
        return str(secret)

    def refuse_to_end_watches(self) -> None:
        self.emulator.queue_fault(400, "InvalidRequest", method="DELETE",
                                  path_contains="subscriptions")

    async def disconnect(self, ref: str) -> Any:
        return await outlook_subscriptions.disconnect(self.database, self.config(), ref)

    def sync_status(self, ref: str) -> SyncStatus:
        return outlook_sync.sync_status(self.database, ref)

    async def follow_once(self, url: str) -> None:
        await outlook_follow.follow_once(self.database, self.config(), url)

    def keep_synced(self, interval: float, url: str,
                    stop: asyncio.Event) -> Coroutine[Any, Any, None]:
        return outlook_follow.keep_calendars_synced(
            self.database, self.config(),
            outlook_follow.FollowSettings(interval_seconds=interval, notification_url=url),
            stop)

    def notification_router(self, settings: Settings) -> APIRouter:
        return outlook_notifications(self.database, settings)

    def notification_url(self, settings: Settings) -> str | None:
        return settings.outlook_follow().notification_url

    async def notifications_answered(self, count: int) -> list[int | None]:
        return [d.status for d in self.emulator.deliveries()]

    def add_event(self, start: datetime, end: datetime, subject: str, *,
                  free: bool = False) -> str:
        return self.emulator.add_event(self.owner, start, end, subject=subject,
                                       show_as="free" if free else "busy")

    def owner_touches(self, event_id: str) -> None:
        self.emulator.owner_edits(self.owner, event_id, subject="Intro (edited)")

    def attendee_declines(self, event_id: str, email: str) -> None:
        self.emulator.attendee_responds(self.owner, event_id, email, "declined")

    def expire_sync_state(self) -> None:
        assert self.emulator.expire_delta_tokens(self.owner) > 0

    def expired_sync_reasons(self) -> list[str]:
        return [r.code for r in self.emulator.requests(path_contains="delta")
                if r.status == 410]



@dataclass
class GoogleCalendar(OwnerCalendar):
    """Grace's primary calendar on the Google emulator (New York)."""

    emulator: GoogleEmulator

    name = "google"
    owner = GOOGLE_OWNER
    sign_in_failed = GoogleSignInFailed
    stored_token_query = "SELECT token FROM google_connections"
    accepted_status = 200
    expired_sync_reason = "fullSyncRequired"
    availability_path = "freeBusy"
    meeting_link_prefix = "https://meet.google.com/"
    watch_kept_warning = "Google did not stop the channel of {ref}"

    def config(self, settings: Settings | None = None) -> Any:
        return (settings or self.settings).google()

    async def begin_sign_in(self, settings: Settings | None = None) -> str:
        return await google_sign_in.begin_sign_in(self.database, self.config(settings))

    async def complete_sign_in(self, redirect: str, settings: Settings | None = None) -> Any:
        return await google_sign_in.complete_sign_in(self.database, self.config(settings),
                                                     redirect)

    def require_token_key(self, settings: Settings) -> None:
        google_connections.require_token_key(self.database, settings.google())

    def open(self, settings: Settings, ref: str) -> CalendarProvider | None:
        return google_connections.open_calendar(self.database, settings.google(), ref)

    async def sync(self, ref: str, *, page_size: int | None = None) -> Any:
        pages = {} if page_size is None else {"page_size": page_size}
        return await google_sync.sync_calendar(self.database, self.config(), ref,
                                               **pages)

    def synced(self, ref: str) -> list[Any]:
        return list(google_sync.synced_events(self.database, ref))

    async def watch(self, ref: str, url: str, *, now: datetime | None = None) -> str:
        return await google_channels.ensure_channel(self.database, self.config(), ref,
                                                    url, now=now)

    def watches(self) -> list[str]:
        return [c.address for c in self.emulator.channels(self.owner)]

    def watch_ids(self, *, ended: bool = False) -> list[tuple[str, ...]]:
        # channels.stop names both the channel and the resource it watches.
        channels = (self.emulator.stopped_channels if ended else self.emulator.channels)
        return [(c.id, c.resource_id) for c in channels(self.owner)]

    def live_watch(self) -> Any:
        [channel] = self.emulator.channels(self.owner)
        return channel

    def post_change(self, receiver: str, watch: Any, event_id: str) -> int:
        # Google's push names the channel and the calendar, never the event.
        return httpx.post(receiver, headers={
            "X-Goog-Channel-ID": watch.id, "X-Goog-Channel-Token": watch.token or "",
            "X-Goog-Resource-ID": watch.resource_id, "X-Goog-Resource-State": "exists",
            "X-Goog-Message-Number": "2"}).status_code

    def watch_secret(self) -> str:
        secret = self.live_watch().token
        assert secret
        return str(secret)

    def refuse_to_end_watches(self) -> None:
        # The owner removed the app's access at Google first: channels.stop is refused.
        self.emulator.revoke_grant(self.owner)

    async def disconnect(self, ref: str) -> Any:
        gone, _ = await google_channels.disconnect(self.database, self.config(), ref)
        return gone

    def sync_status(self, ref: str) -> SyncStatus:
        return google_sync.sync_status(self.database, ref)

    async def follow_once(self, url: str) -> None:
        await google_follow.follow_once(self.database, self.config(), url)

    def keep_synced(self, interval: float, url: str,
                    stop: asyncio.Event) -> Coroutine[Any, Any, None]:
        return google_follow.keep_calendars_synced(
            self.database, self.config(),
            google_follow.FollowSettings(interval_seconds=interval, notification_url=url),
            stop)

    def notification_router(self, settings: Settings) -> APIRouter:
        return google_notifications(self.database, settings)

    def notification_url(self, settings: Settings) -> str | None:
        return settings.google_follow().notification_url

    async def notifications_answered(self, count: int) -> list[int | None]:
        await eventually(lambda: len(self.emulator.pushes()) >= count)
        await asyncio.sleep(0.2)  # the syncs they started finish
        return [p.status for p in self.emulator.pushes()]

    def add_event(self, start: datetime, end: datetime, subject: str, *,
                  free: bool = False) -> str:
        return self.emulator.add_event(self.owner, start, end, summary=subject,
                                       transparent=free)

    def owner_touches(self, event_id: str) -> None:
        # Google's emulator has no plain edit: a repeated answer changes the event all the same.
        self.emulator.attendee_declines(self.owner, event_id, CALLERS[0].email)

    def attendee_declines(self, event_id: str, email: str) -> None:
        self.emulator.attendee_declines(self.owner, event_id, email)

    def expire_sync_state(self) -> None:
        self.emulator.expire_sync_tokens()

    def expired_sync_reasons(self) -> list[str]:
        return [r.reason for r in self.emulator.requests(path_contains="/events")
                if r.status == 410]



@pytest.fixture
def outlook_calendar(database: Database, emulator: MicrosoftEmulator,
                     ms_settings: Settings) -> OutlookCalendar:
    """The owner's Outlook calendar on the Microsoft emulator."""
    return OutlookCalendar(database, ms_settings, emulator)


@pytest.fixture
def google_calendar(database: Database, google: GoogleEmulator,
                    google_settings: Settings) -> GoogleCalendar:
    """The owner's Google calendar on the Google emulator."""
    return GoogleCalendar(database, google_settings, google)


@pytest.fixture(params=["outlook", "google"])
def owner_calendar(request: pytest.FixtureRequest, database: Database) -> OwnerCalendar:
    """The owner's calendar on each provider in turn (on each database: named here so that
    pytest parametrizes every test with it)."""
    if request.param == "outlook":
        return OutlookCalendar(database, request.getfixturevalue("ms_settings"),
                               request.getfixturevalue("emulator"))
    return GoogleCalendar(database, request.getfixturevalue("google_settings"),
                          request.getfixturevalue("google"))


@pytest.fixture
def receiver(database: Database, owner_calendar: OwnerCalendar) -> Iterator[str]:
    """The call server on loopback, with the route the provider notifies; yields that URL
    (made from the server's public URL, as ``serve`` does)."""
    port = free_port()
    settings = owner_calendar.settings.model_copy(update={
        "public_url": f"http://127.0.0.1:{port}", "twilio_auth_token": SecretStr("twilio")})
    url = owner_calendar.notification_url(settings)
    assert url == f"http://127.0.0.1:{port}/{owner_calendar.name}/notifications"

    async def no_calls(websocket: WebSocket, call: AdmittedCall) -> None:
        raise AssertionError("no phone call in these tests")

    app = create_app(campaigns=CampaignDirectory([parse_campaign({"name": "sales"})]),
                     twilio=settings.twilio(), database=database, handler=no_calls,
                     routers=[owner_calendar.notification_router(settings)])
    server = BackgroundServer(app, port, name="call-server").start()
    try:
        yield url
    finally:
        server.stop()
