"""Concurrent phone calls through one call server: ``bench/concurrent_calls.py --calls N``.

Starts the real server (``booking-agent serve``, offline speech, guided policy, embedded
calendar) in its own process, the Twilio emulator, and N callers speaking the Media Streams
protocol in real time. Every call is placed at once (a small stagger), greeted, and the
caller says three lines. Response latency is what the caller experiences: from the last
packet of its speech to the first packet of the agent's answer. CPU per call is the server
process's CPU time over the calls' wall time, divided by N (1.0 = one core per call).

``--calls`` takes one N or a list (``--calls 1,2,4,8``); one line per N, the last line is
``calls=<n> p50_ms=<x> p99_ms=<y> cpu_per_call=<z>`` for the last N.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.loopback import free_port  # noqa: E402
from tests.fakes.media_caller import MediaCaller  # noqa: E402
from tests.fakes.twilio_server import TwilioEmulator, parse_stream_twiml  # noqa: E402

CAMPAIGN = """\
name: bench
business_name: Northwind
agent_name: Alex
purpose: a short intro call
phone_numbers: ["+14155550100"]
booking:
  enabled: true
  calendar: local
  meeting_length_minutes: 30
  availability: {timezone: America/New_York, days: [mon, tue, wed, thu, fri, sat, sun],
                 start: "00:00", end: "23:30"}
  minimum_notice_minutes: 0
  look_ahead_days: 30
"""
LINES = ["yes that works", "john at example dot com", "yes that is correct"]
CALLER = "+12125550123"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Server:
    """``booking-agent serve`` in a subprocess, pointed at the emulator."""

    def __init__(self, workdir: Path, twilio: TwilioEmulator) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        campaign = workdir / "bench.yaml"
        campaign.write_text(CAMPAIGN)
        env = {
            **os.environ,
            "BOOKING_AGENT_PUBLIC_URL": self.url,
            "BOOKING_AGENT_TWILIO_ACCOUNT_SID": twilio.account_sid,
            "BOOKING_AGENT_TWILIO_AUTH_TOKEN": twilio.auth_token,
            "BOOKING_AGENT_TWILIO_API_URL": twilio.base_url,
            "BOOKING_AGENT_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "BOOKING_AGENT_SILENCE_TIMEOUT_SECONDS": "60",
            "LOGURU_LEVEL": "WARNING",
        }
        for key in ("BOOKING_AGENT_OPENAI_API_KEY", "BOOKING_AGENT_DEEPGRAM_API_KEY",
                    "BOOKING_AGENT_CARTESIA_API_KEY", "BOOKING_AGENT_ELEVENLABS_API_KEY"):
            env.pop(key, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--campaign", str(campaign),
             "--port", str(self.port)],
            cwd=workdir, env={**env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the call server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def one_call(server: Server, twilio: TwilioEmulator, delay: float) -> list[float]:
    """One caller's call; the latency of each of its turns (seconds)."""
    await asyncio.sleep(delay)
    sid, twiml, status = await twilio.ring("+14155550100", CALLER, f"{server.url}/twilio/voice")
    stream = parse_stream_twiml(twiml) if status == 200 else None
    if stream is None:
        raise RuntimeError(f"the server did not answer (HTTP {status})")
    latencies = []
    async with MediaCaller(stream.url, custom_parameters=stream.parameters, call_sid=sid,
                           account_sid=twilio.account_sid) as caller:
        await caller.wait_for_agent_turn(0.0, quiet=1.2, timeout=60)
        for line in LINES:
            said_at = await caller.say(line)
            await caller.wait_for_agent_turn(said_at, quiet=1.2, timeout=60)
            first = caller.turns[-1][1]
            if first is not None:
                latencies.append(first - said_at)
    return latencies


async def run(n: int, server: Server, twilio: TwilioEmulator) -> tuple[list[float], float]:
    """N concurrent calls; (turn latencies, server CPU per call in cores)."""
    cpu_before, started = _cpu_seconds(server.process.pid), time.monotonic()
    results = await asyncio.gather(*(one_call(server, twilio, 0.25 * i) for i in range(n)))
    wall = time.monotonic() - started
    cpu = _cpu_seconds(server.process.pid) - cpu_before
    return [x for r in results for x in r], cpu / wall / n


def _server_breakdown(db: Path) -> str:
    """The median split of the server's own turn timings (all runs), from the call records."""
    from storage.database import open_database
    from telephony.call_records import list_calls

    turns = [t for call in list_calls(open_database(f"sqlite:///{db}"), limit=10_000)
             for t in call.turn_latencies]
    if not turns:
        return "server-side turn timings: none recorded"
    parts = ("total_ms", "stt_ms", "dialogue_ms", "tools_ms", "tts_ms")
    medians = {p: statistics.median(t.get(p) or 0.0 for t in turns) for p in parts}
    return ("server-side median per turn (ms, caller silent → first audio out; stt includes "
            "the VAD stop and end-of-turn pause): " +
            ", ".join(f"{p.removesuffix('_ms')} {v:.0f}" for p, v in medians.items()) +
            f" over {len(turns)} turns")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="4",
                        help="concurrent calls: one N or a comma list (1,2,4,8)")
    args = parser.parse_args()
    counts = [int(x) for x in args.calls.split(",") if x.strip()]
    twilio = TwilioEmulator().start()
    last = ""
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), twilio)
        try:
            asyncio.run(run(1, server, twilio))  # warm-up: language model, caches
            for n in counts:
                latencies, cpu_per_call = asyncio.run(run(n, server, twilio))
                p50 = statistics.median(latencies) * 1000
                p99 = _percentile(latencies, 0.99) * 1000
                last = (f"calls={n} p50_ms={p50:.0f} p99_ms={p99:.0f} "
                        f"cpu_per_call={cpu_per_call:.3f}")
                print(f"{n:3d} calls: {len(latencies)} turns, median {p50:.0f} ms, "
                      f"p99 {p99:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
                      f"server CPU {cpu_per_call:.3f} core per call", flush=True)
            print(_server_breakdown(Path(tmp) / "bench.db"), flush=True)
        finally:
            server.stop()
            twilio.stop()
    print(last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
