"""Calls ending at once lose no record: end-of-call writes and status callbacks collide safely."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from storage.database import Database, open_database
from telephony.call_records import TurnLatency, get_call, record_call_finished
from telephony.signatures import twilio_signature
from tests.test_telephony_server import CALLER, Harness

CALLS = 20


async def test_twenty_calls_ending_at_once_keep_every_record_and_every_callback(
    database: Database,
) -> None:
    harness = Harness(database)
    try:
        voice = f"{harness.local_url}/twilio/voice"
        sids = [(await harness.twilio.ring("+14155550100", CALLER, voice))[0]
                for _ in range(CALLS)]
        status_url = f"{harness.local_url}/twilio/status"

        async def completed(sid: str, client: httpx.AsyncClient) -> int:
            params = {"CallSid": sid, "CallStatus": "completed", "CallDuration": "61"}
            signature = twilio_signature(harness.twilio.auth_token, status_url, params)
            response = await client.post(status_url, data=params,
                                         headers={"X-Twilio-Signature": signature})
            return response.status_code

        def finished(sid: str) -> None:
            # What the phone pipeline writes when a call's pipeline ends (on a worker thread).
            record_call_finished(
                database, sid, outcome="booked",
                transcript=[{"role": "agent", "text": "Thanks, talk soon. " * 40}] * 30,
                tool_calls=[{"name": "book_meeting", "result": "booked"}], bookings=[],
                turn_latencies=[TurnLatency(total_ms=812.0)] * 10)

        async with httpx.AsyncClient(timeout=60) as client:
            # Every call's end-of-call write and its `completed` callback, all at once.
            results = await asyncio.gather(
                *(asyncio.to_thread(finished, sid) for sid in sids),
                *(completed(sid, client) for sid in sids),
            )
    finally:
        harness.stop()

    assert results[CALLS:] == [204] * CALLS
    records = [get_call(database, sid) for sid in sids]
    assert [(r.outcome, r.status, r.duration_seconds) for r in records if r is not None] == [
        ("booked", "completed", 61.0)] * CALLS
    assert all(len(r.transcript) == 30 for r in records if r is not None)


def test_sqlite_connections_use_wal_and_wait_for_the_write_lock(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'calls.db'}")
    try:
        with database.engine.connect() as connection:
            # WAL: readers never block the writer; the busy time-out: writers queue, not fail.
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        database.dispose()
