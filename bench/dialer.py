"""Dialling benchmark: worker processes share one PostgreSQL queue and one CPS budget; one is
SIGKILLed mid-run; everything is measured at the Twilio emulator.

    .venv/bin/python bench/dialer.py --db postgresql://root@127.0.0.1:5432/test
    .venv/bin/python bench/dialer.py --contacts 500 --workers 3 --cps 20 --kill-after 8

The Twilio emulator and a call server run on loopback in this process; ``--workers`` real
``booking-agent worker`` processes dial ``--contacts`` contacts: people, busy lines, no answers,
answering machines, numbers Twilio refuses and numbers on the do-not-call list, in zones the
number gives (Tokyo, India, Australian mobiles spanning five zones, Russian mobiles spanning
eleven, ...) or the contact list names. The calling hours are set so that one group's window
opens a minute or two into the run (those contacts wait for it) and every other contact is
inside its window. Calls are short: the emulator hangs up 0.2 s after answering. The run uses
a fresh PostgreSQL schema and removes it afterwards.

Workers space their calls ``(1 + --cps-margin) / cps`` apart (default margin 0.4): on a
2-core machine shared with other work, processes stall for 100-200 ms at a time, and the
emulator then notes several calls at once; with margin 0.1 such runs measured 21-25 calls in
one second at a budget of 20, with 0.25 20-21, with 0.4 at most 19-20.

The same-run baseline is the shortest wall time the budget allows (dials placed / cps, or the
wait for the last window, whichever is longer). The last line is
``contacts=<n> final=<n> double_dialled=<n> max_cps=<x> cps_budget=<y> outside_hours=<n>
dnc_dialled=<n> wall_s=<s>``: contacts in two calls at once (emulator), the most Calls creates
in any one second (emulator), creates outside the contact's calling hours and to do-not-call
numbers.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from agent.campaign import CallingHours  # noqa: E402
from calendar_backend.booking_settings import Recipient  # noqa: E402
from caller_language.phone_numbers import e164  # noqa: E402
from storage.database import open_database  # noqa: E402
from storage.dialling_tables import DialAttemptRow, DialJobRow  # noqa: E402
from telephony.calling_hours import candidate_zones, within_hours  # noqa: E402
from telephony.dialling import enqueue_campaign, progress  # noqa: E402
from telephony.do_not_call import add_numbers  # noqa: E402
from tests.dialling_helpers import (  # noqa: E402
    DiallingRig,
    dialling_campaign,
    schema_url,
    zone_at_hour,
)

# Number patterns (four digits appended) whose zones come from the number.
NUMBER_PATTERNS = [
    "+8131234", "+91402345", "+6141234", "+7916123", "+354551", "+44207123", "+551198765",
    "+659123", "+8221234", "+49301234", "+2721123", "+52551234", "+86101234", "+1212555",
    "+1415555", "+3314234",
]
BEHAVIOURS = [("answer", 0.40), ("machine", 0.20), ("busy", 0.12), ("no-answer", 0.12),
              ("failed", 0.03), ("invalid", 0.05), ("dnc", 0.08)]


def options() -> argparse.Namespace:
    """The benchmark's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgresql://root@127.0.0.1:5432/test")
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--cps", type=float, default=20.0)
    parser.add_argument("--cps-margin", type=float, default=0.4,
                        help="slots this much wider than 1/cps (BOOKING_AGENT_DIAL_CPS_MARGIN): "
                             "absorbs the scheduling stalls of a loaded host, which show at the "
                             "emulator as several calls noted at once")
    parser.add_argument("--kill-after", type=float, default=8.0,
                        help="seconds into the run when worker 0 is SIGKILLed")
    parser.add_argument("--timeout", type=float, default=420.0)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--dump", metavar="FILE",
                        help="write the emulator's (time, To) of every create as JSON")
    return parser.parse_args()


def calling_hours(now: datetime) -> tuple[CallingHours, str, datetime]:
    """Hours 07:MM-20:00 whose window opens in ``waiting_zone`` at ``opens`` (a minute or two
    from ``now``); ``waiting_zone`` is a whole-hour zone at 07:MM then."""
    opens = (now + timedelta(seconds=60)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    waiting_zone = zone_at_hour(7, opens)
    local = opens.astimezone(__import__("zoneinfo").ZoneInfo(waiting_zone))
    hours = CallingHours(start=local.time().replace(second=0, microsecond=0),
                         end=datetime.strptime("20:00", "%H:%M").time())
    return hours, waiting_zone, opens


def contacts_for(count: int, hours: CallingHours, waiting_zone: str, now: datetime,
                 rng: random.Random) -> tuple[list[Recipient], dict[str, str]]:
    """``count`` contacts and what each number does when called."""
    later = now + timedelta(minutes=8)
    # Numbers whose own zones are inside the hours for the whole run.
    patterns = [p for p in NUMBER_PATTERNS
                if within_hours(now, candidate_zones(e164(p + "1234")), hours)
                and within_hours(later, candidate_zones(e164(p + "1234")), hours)]
    listed_day = zone_at_hour(12, now)
    contacts: list[Recipient] = []
    behaviour: dict[str, str] = {}
    serial = 1000
    while len(contacts) < count:
        serial += 1
        kind = rng.random()
        if kind < 0.15:  # the contact list names a zone whose window opens during the run
            phone, zone = f"+1312555{serial % 9000 + 1000:04d}", waiting_zone
        elif kind < 0.30 or not patterns:  # a zone named in the list, inside the hours
            phone, zone = f"+1646555{serial % 9000 + 1000:04d}", listed_day
        else:
            phone, zone = f"{rng.choice(patterns)}{serial % 9000 + 1000:04d}", None
        try:
            phone = e164(phone)
        except ValueError:
            continue
        if phone in behaviour:
            continue
        behaviour[phone] = rng.choices([name for name, _ in BEHAVIOURS],
                                       weights=[share for _, share in BEHAVIOURS])[0]
        contacts.append(Recipient(first_name=f"C{serial}", phone=phone,
                                  custom={"zone": zone} if zone else {}))
    return contacts, behaviour


def main() -> int:
    """Run the benchmark; prints the baseline and the figures, last line as documented."""
    args = options()
    rng = random.Random(args.seed)
    schema = f"bench_dialer_{uuid.uuid4().hex[:8]}"
    database = open_database(args.db, schema=schema)
    workers: list[subprocess.Popen[bytes]] = []
    rig = None
    try:
        now = datetime.now(UTC)
        hours, waiting_zone, opens = calling_hours(now)
        campaign = dialling_campaign(
            "bench-dialer", calling_hours=hours.model_dump(mode="json"), max_attempts=3,
            retry_backoff_seconds=1.0, max_calls_in_progress=200)
        rig = DiallingRig(database, [campaign], hang_up_after=0.2, emulator_process=True)
        contacts, behaviour = contacts_for(args.contacts, hours, waiting_zone, now, rng)
        for phone, name in behaviour.items():
            if name == "invalid":
                rig.twilio.invalid_numbers.add(phone)
            elif name != "dnc":
                rig.twilio.behaviours[phone] = name
        rig.twilio.configure()
        banned = [p for p, name in behaviour.items() if name == "dnc"]
        add_numbers(database, banned, source="import")
        enqueue_campaign(database, campaign, contacts, from_number="+14155550100")
        url = schema_url(args.db, schema)
        started = time.monotonic()
        for i in range(args.workers):
            workers.append(rig.start_worker_process(
                url, f"bench-w{i}", dial_cps=str(args.cps), dial_poll_seconds="0.1",
                dial_cps_margin=str(args.cps_margin),
                dial_lease_seconds="5", dial_worker_concurrency="4",
                # A call whose final callback the loaded call server lost is asked of
                # Twilio after 15 s instead of an hour.
                dial_call_lease_seconds="15"))
        killed = False
        while time.monotonic() - started < args.timeout:
            if not killed and time.monotonic() - started >= args.kill_after:
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()
                killed = True
            if killed and progress(database, campaign.name).finished:
                break
            time.sleep(0.2)
        wall = time.monotonic() - started
        time.sleep(0.5)  # a stray call would reach the emulator now
        for worker in workers[1:]:
            worker.send_signal(signal.SIGTERM)
        for worker in workers[1:]:
            worker.wait(30)

        with database.session() as session:
            jobs = {j.phone: j for j in session.scalars(select(DialJobRow))}
        final = sum(1 for j in jobs.values() if j.state == "done")
        create_times = rig.twilio.create_times
        if args.dump:
            Path(args.dump).write_text(json.dumps(create_times))
        outside = sum(1 for moment, to in create_times
                      if not within_hours(datetime.fromtimestamp(moment, UTC),
                                          list(jobs[to].zones), hours))
        dnc_dialled = sum(1 for _, to in create_times if to in set(banned))
        overlapping = rig.twilio.overlapping_calls()
        double = sum(overlapping.values())
        with database.session() as session:
            for phone in overlapping:  # what the queue recorded for a contact called twice
                rows = session.execute(select(
                    DialAttemptRow.attempt, DialAttemptRow.worker, DialAttemptRow.status,
                    DialAttemptRow.reason, DialAttemptRow.placed_at, DialAttemptRow.ended_at,
                ).where(DialAttemptRow.job_id == jobs[phone].id)).all()
                print(f"called twice at once: {phone} ({behaviour[phone]}): "
                      + "; ".join(str(tuple(r)) for r in rows), file=sys.stderr)
        dials = len(create_times)
        over_attempts = sum(1 for j in jobs.values() if j.attempts > 3)
        outcomes: dict[str, int] = {}
        for job in jobs.values():
            outcomes[job.outcome or job.state] = outcomes.get(job.outcome or job.state, 0) + 1
        window_wait = max(0.0, (opens - now).total_seconds())
        print(f"baseline: {dials} dials at {args.cps:g} calls/s need >= {dials / args.cps:.1f} s;"
              f" the last window opens {window_wait:.0f} s in (hours {hours.start:%H:%M}-"
              f"{hours.end:%H:%M}, waiting zone {waiting_zone})")
        print("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())) +
              f"; contacts over max_attempts: {over_attempts}; worker bench-w0 SIGKILLed at "
              f"{args.kill_after:g} s")
        print(f"contacts={len(contacts)} final={final} double_dialled={double} "
              f"max_cps={rig.twilio.max_calls_per_second()} cps_budget={args.cps:g} "
              f"outside_hours={outside} dnc_dialled={dnc_dialled} wall_s={wall:.1f}")
        return 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        if rig is not None:
            rig.stop()
        database.drop_schema()
        database.dispose()


if __name__ == "__main__":
    sys.exit(main())
