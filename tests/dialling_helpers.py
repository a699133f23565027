"""The dialling queue's test rig: the Twilio emulator and a call server on loopback, workers
in-process or as real ``booking-agent worker`` processes, and zones at a chosen local hour."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import WebSocket

from agent.campaign import Campaign
from app.call_server import CampaignDirectory, create_app
from app.campaign_files import parse_campaign
from app.settings import Settings
from storage.database import Database
from telephony.config import DiallerConfig
from telephony.dialling import DialWorker
from telephony.metrics import ServerMetrics
from telephony.outbound import twilio_client
from telephony.phone_pipeline import AdmittedCall
from tests.fakes.loopback import BackgroundServer, free_port
from tests.fakes.twilio_server import TwilioEmulator, max_calls_per_second, overlapping_calls

ROOT = Path(__file__).resolve().parent.parent
ALL_DAY = {"start": "00:00", "end": "23:59"}


def dialling_campaign(name: str = "renewals", **dialling: object) -> Campaign:
    """A campaign dialled from +14155550100; calling hours all day unless given."""
    settings = {"calling_hours": ALL_DAY, "retry_backoff_seconds": 0.2, **dialling}
    return parse_campaign({"name": name, "business_name": "Acme", "agent_name": "Sam",
                           "phone_numbers": ["+14155550100"], "dialling": settings})


def zone_at_hour(hour: int, now: datetime | None = None) -> str:
    """A fixed-offset zone (``Etc/GMT±n``) whose local hour is ``hour`` right now."""
    now = now or datetime.now(UTC)
    offset = (hour - now.hour) % 24
    if offset > 14:
        offset -= 24
    # POSIX sign: Etc/GMT-9 is nine hours *ahead* of UTC.
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


class EmulatorProcess:
    """The Twilio emulator in a process of its own, driven over its ``/_emulator`` routes.

    Rate measurements need it: in the test's process, a busy moment (the call server's work,
    the GIL) delays the emulator noting a request, and two requests noted together look like a
    burst the workers never sent.
    """

    account_sid = TwilioEmulator.__init__.__defaults__[0]  # type: ignore[index]
    auth_token = TwilioEmulator.__init__.__defaults__[1]  # type: ignore[index]

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.twilio_server", str(self.port)], cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.base_url}/_emulator/stats", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the Twilio emulator did not start"
                time.sleep(0.1)
        self.behaviours: dict[str, str] = {}
        self.invalid_numbers: set[str] = set()
        self.hang_up_after: float | None = None

    def configure(self) -> None:
        """Send ``behaviours``, ``invalid_numbers`` and ``hang_up_after`` to the emulator."""
        httpx.post(f"{self.base_url}/_emulator/config", json={
            "behaviours": self.behaviours, "invalid_numbers": sorted(self.invalid_numbers),
            "hang_up_after": self.hang_up_after}, timeout=10).raise_for_status()

    def _stats(self) -> dict[str, list]:  # type: ignore[type-arg]
        return httpx.get(f"{self.base_url}/_emulator/stats", timeout=30).json()

    @property
    def create_times(self) -> list[tuple[float, str]]:
        """(time, To) of every Calls create."""
        return [(t, to) for t, to in self._stats()["create_times"]]

    def overlapping_calls(self) -> dict[str, int]:
        """Numbers that were in two calls at once."""
        return overlapping_calls([tuple(span) for span in self._stats()["spans"]])

    def max_calls_per_second(self) -> int:
        """The most Calls creates in any one second."""
        return max_calls_per_second([t for t, _ in self.create_times])

    def stop(self) -> None:
        """End the emulator's process."""
        self.process.terminate()
        self.process.wait(10)


class DiallingRig:
    """The Twilio emulator and a call server sharing ``database``; workers dial through them."""

    def __init__(self, database: Database, campaigns: list[Campaign],
                 *, hang_up_after: float | None = 0.05, emulator_process: bool = False) -> None:
        self.database = database
        self.twilio: Any = EmulatorProcess() if emulator_process else TwilioEmulator().start()
        self.twilio.hang_up_after = hang_up_after
        if emulator_process:
            self.twilio.configure()
        port = free_port()
        self.settings = Settings(
            _env_file=None, public_url=f"http://127.0.0.1:{port}",
            twilio_account_sid=self.twilio.account_sid,
            twilio_auth_token=self.twilio.auth_token, twilio_api_url=self.twilio.base_url)
        self.metrics = ServerMetrics("test-server")

        async def handler(websocket: WebSocket, call: AdmittedCall) -> None:
            await websocket.receive_text()

        app = create_app(campaigns=CampaignDirectory(campaigns), twilio=self.settings.twilio(),
                         database=database, handler=handler, metrics=self.metrics)
        self.server = BackgroundServer(app, port, "call-server").start()
        self.client = twilio_client(self.settings.twilio())

    def created_to(self) -> list[str]:
        """The numbers of every Calls create, in order."""
        return [to for _, to in self.twilio.create_times]

    def worker(self, config: DiallerConfig, name: str = "w1") -> DialWorker:
        """An in-process worker dialling through this rig."""
        return DialWorker(self.database, self.settings.twilio(), self.client, config, name=name)

    def run_worker_until(self, config: DiallerConfig, done: Callable[[], bool],
                         timeout: float = 20.0, name: str = "w1") -> None:
        """Run an in-process worker until ``done()`` holds (or fail after ``timeout``)."""
        stop = threading.Event()
        worker = self.worker(config, name)
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        try:
            while not done():
                assert time.monotonic() < deadline, "the worker did not finish in time"
                time.sleep(0.05)
        finally:
            stop.set()
            thread.join(10)

    def run_worker_for(self, config: DiallerConfig, seconds: float, name: str = "w1") -> None:
        """Run an in-process worker for ``seconds``."""
        stop = threading.Event()
        thread = threading.Thread(target=self.worker(config, name).run, args=(stop,),
                                  daemon=True)
        thread.start()
        time.sleep(seconds)
        stop.set()
        thread.join(10)

    def worker_env(self, database_url: str, **settings: str) -> dict[str, str]:
        """The environment of a ``booking-agent worker`` process dialling through this rig."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_AGENT_")}
        env.update({
            "PYTHONPATH": str(ROOT), "BOOKING_AGENT_DATABASE_URL": database_url,
            "BOOKING_AGENT_PUBLIC_URL": self.settings.public_url or "",
            "BOOKING_AGENT_TWILIO_ACCOUNT_SID": self.twilio.account_sid,
            "BOOKING_AGENT_TWILIO_AUTH_TOKEN": self.twilio.auth_token,
            "BOOKING_AGENT_TWILIO_API_URL": self.twilio.base_url,
        })
        env.update({f"BOOKING_AGENT_{k.upper()}": v for k, v in settings.items()})
        return env

    def start_worker_process(self, database_url: str, name: str,
                             **settings: str) -> subprocess.Popen[bytes]:
        """A real ``booking-agent worker`` process; its stderr is kept in ``process.log``."""
        env = self.worker_env(database_url, instance=name, **settings)
        # Its log goes to a file (a pipe nobody reads would stall the worker once full).
        log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=ROOT,
                                   env=env, stdout=subprocess.DEVNULL, stderr=log)
        process.log = log  # type: ignore[attr-defined]
        return process

    def stop(self) -> None:
        """Stop the call server and the emulator."""
        self.server.stop()
        self.twilio.stop()


def schema_url(base_url: str, schema: str) -> str:
    """A PostgreSQL URL whose connections use ``schema`` (as the test's Database does)."""
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"
