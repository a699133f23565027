"""Operator API latency: list an organisation's calls with 10,000 calls stored.

    .venv/bin/python bench/api.py --db sqlite:///tmp/api.db [--calls 10000] [--requests 200]
    .venv/bin/python bench/api.py --db postgresql://root@127.0.0.1:5432/test

Stores ``--calls`` calls for one organisation and as many for another (which must never
show), then times ``GET /api/v1/calls`` (first page of 50, newest first) and a filtered page
(``?outcome=booked``) through the real app in-process (an ASGI client: no network, so the
figure is the server's own). The baseline, measured in the same run, is ``GET
/api/v1/campaigns`` on an empty list: the cost of authentication and routing alone. The run
uses a fresh PostgreSQL schema or a fresh SQLite file next to the given path and removes it.
The last line is ``calls=<n> p50_ms=<x> p99_ms=<y> filtered_p99_ms=<z> baseline_p50_ms=<b>``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from app.operator_api import create_operator_api
from app.operators.accounts import create_api_key, create_operator
from app.settings import Settings
from storage.call_tables import CallRow
from storage.database import Database, normalize_url, open_database

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
OUTCOMES = ("booked", "declined", "no_booking", "hung_up")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def fresh(url: str) -> tuple[Database, Path | None]:
    """A migrated empty database for this run (and the SQLite file to remove after)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        return open_database(url, schema=f"bench_{uuid.uuid4().hex[:12]}"), None
    given = Path(parsed.database or "api.db")
    path = given.with_name(f"{given.stem}-{uuid.uuid4().hex[:8]}.db")
    return open_database(f"sqlite:///{path}"), path


def store_calls(database: Database, organisation_id: str, count: int) -> None:
    """``count`` finished calls of the organisation, a minute apart."""
    rows = [CallRow(
        id=f"CA{uuid.uuid4().hex}", campaign=f"campaign-{i % 5}", direction="inbound",
        caller_number="+12125550100", our_number=None, status="completed",
        outcome=OUTCOMES[i % len(OUTCOMES)], started_at=START + timedelta(minutes=i),
        ended_at=START + timedelta(minutes=i, seconds=90), duration_seconds=90.0,
        transcript=[{"role": "agent", "text": "Hi."}, {"role": "caller", "text": "hello"}] * 8,
        tool_calls=[], bookings=[], turn_latencies=[], follow_ups={},
        organisation_id=organisation_id,
    ) for i in range(count)]
    with database.session() as session:
        session.add_all(rows)


async def timed(client: httpx.AsyncClient, path: str, key: str, requests: int) -> list[float]:
    """Milliseconds per request of ``requests`` GETs of ``path``."""
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        answer = await client.get(path, headers={"Authorization": f"Bearer {key}"})
        times.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
    return times


async def run(url: str, calls: int, requests: int) -> str:
    """Store the calls, time the listings; returns the summary line."""
    database, path = fresh(url)
    try:
        ours = create_operator(database, "ops@acme.example", "long enough password", "Acme")
        theirs = create_operator(database, "ops@globex.example", "long enough password", "Globex")
        store_calls(database, ours.organisation.id, calls)
        store_calls(database, theirs.organisation.id, calls)
        _, key = create_api_key(database, ours.organisation, "bench")
        api = create_operator_api(database, Settings(_env_file=None, openai_api_key=None))
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            first = (await client.get("/calls", headers={"Authorization": f"Bearer {key}"})).json()
            if len(first["calls"]) != 50 or first["calls"][0]["started_at"] < first["calls"][1][
                    "started_at"]:
                raise RuntimeError("the first page is not the 50 newest calls")
            for warm in ("/campaigns", "/calls", "/calls?outcome=booked&limit=50"):
                await timed(client, warm, key, 10)  # warm the pool and statement caches
            baseline = await timed(client, "/campaigns", key, requests)
            listing = await timed(client, "/calls", key, requests)
            filtered = await timed(client, "/calls?outcome=booked&limit=50", key, requests)
    finally:
        if database.dialect == "postgresql":
            database.drop_schema()
        database.dispose()
        if path is not None:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
    base = statistics.median(baseline)
    p50, p99 = percentile(listing, 0.5), percentile(listing, 0.99)
    print(f"database: {database.dialect}, {calls} calls stored per organisation (2 organisations)")
    print(f"baseline GET /campaigns (empty): p50 {base:.2f} ms")
    print(f"GET /calls: p50 {p50:.2f} ms = {p50 / base:.1f}x baseline, p99 {p99:.2f} ms")
    print(f"GET /calls?outcome=booked: p99 {percentile(filtered, 0.99):.2f} ms")
    return (f"calls={calls} p50_ms={p50:.2f} p99_ms={p99:.2f} "
            f"filtered_p99_ms={percentile(filtered, 0.99):.2f} baseline_p50_ms={base:.2f}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="postgresql://... or sqlite:///path")
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    if args.calls < 50 or args.requests < 1:
        parser.error("--calls must be at least 50 and --requests at least 1")
    try:
        normalize_url(args.db)
    except ValueError as exc:
        parser.error(str(exc))
    print(asyncio.run(run(args.db, args.calls, args.requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
