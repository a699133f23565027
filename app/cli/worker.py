"""``booking-agent worker``, ``campaign enqueue|progress|pause|resume|stop`` and ``dnc``: the
dialling queue from the command line.

``campaign enqueue`` puts a campaign's contact list in the database queue; any number of
``booking-agent worker`` processes (on any hosts sharing the PostgreSQL database; one on
SQLite) dial it within the calls-per-second budget, calling hours and do-not-call list.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from app.campaign_files import CampaignInvalid, load_campaign
from app.input_files import InputError, read_text
from app.settings import get_settings

EXIT_INVALID = 2
EXIT_FAILED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``worker`` and ``dnc`` commands."""
    worker = subparsers.add_parser(
        "worker", help="dial queued campaigns until stopped (Ctrl-C or SIGTERM)")
    worker.add_argument("--until-idle", action="store_true",
                        help="stop once no queued campaign has a contact left to finish")
    worker.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="serve this worker's Prometheus metrics (labelled with its "
                             "instance) on 127.0.0.1:PORT/metrics")
    worker.set_defaults(func=_worker)
    dnc = subparsers.add_parser("dnc", help="the organisation-wide do-not-call list")
    commands = dnc.add_subparsers(dest="dnc_command", metavar="COMMAND", required=True)
    imported = commands.add_parser(
        "import", help="add numbers from a file (one per line, or a CSV's first column)")
    imported.add_argument("file")
    imported.set_defaults(func=_dnc_import)
    listed = commands.add_parser("list", help="print every number on the list")
    listed.set_defaults(func=_dnc_list)


def register_queue(commands: argparse._SubParsersAction) -> None:
    """Add ``campaign enqueue|progress|pause|resume|stop`` (called from app.cli.campaign)."""
    enqueue = commands.add_parser(
        "enqueue", help="queue a contact list for the workers (booking-agent worker)")
    enqueue.add_argument("file", help="campaign file")
    enqueue.add_argument("--contacts", required=True, metavar="CSV",
                         help="CSV with a phone column; a zone column gives the contact's "
                              "IANA time zone (else it comes from the number)")
    enqueue.add_argument("--from", dest="from_number", metavar="NUMBER",
                         help="your Twilio number (default: the campaign's first phone_number)")
    enqueue.set_defaults(func=_enqueue)
    for name, text in (("progress", "how far dialling a queued campaign got"),
                       ("pause", "stop taking the campaign's contacts (calls go on)"),
                       ("resume", "take the campaign's contacts again"),
                       ("stop", "stop dialling the campaign for good")):
        command = commands.add_parser(name, help=text)
        command.add_argument("name", help="the campaign's name")
        command.set_defaults(func=_campaign_state, action=name)


def _enqueue(args: argparse.Namespace) -> int:
    from app.contacts_file import ContactsInvalid, load_contacts
    from storage.database import open_database
    from telephony.dialling import enqueue_campaign
    from telephony.outbound import OutboundNotConfigured, caller_id

    settings = get_settings()
    try:
        campaign = load_campaign(args.file)
        contacts = load_contacts(args.contacts)
        our_number = caller_id(settings.twilio(), campaign, args.from_number)
    except (CampaignInvalid, ContactsInvalid, OutboundNotConfigured) as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    database = open_database(settings.sqlalchemy_url())
    try:
        added = enqueue_campaign(database, campaign, contacts, from_number=our_number)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    print(f"{len(contacts)} contacts ({added} new) queued for campaign {campaign.name!r}; "
          "start workers with: booking-agent worker")
    return 0


def _campaign_state(args: argparse.Namespace) -> int:
    from storage.database import open_database
    from telephony.dialling import progress, set_campaign_state

    database = open_database(get_settings().sqlalchemy_url())
    states = {"pause": "paused", "resume": "running", "stop": "stopped"}
    if args.action in states and not set_campaign_state(database, args.name,
                                                        states[args.action]):
        print(f"campaign {args.name!r} is not queued", file=sys.stderr)
        return EXIT_INVALID
    report = progress(database, args.name)
    if report is None:
        print(f"campaign {args.name!r} is not queued", file=sys.stderr)
        return EXIT_INVALID
    jobs = ", ".join(f"{k} {v}" for k, v in sorted(report.jobs.items())) or "no contacts"
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())) or "none yet"
    print(f"campaign {report.campaign!r} ({report.state}): {report.total} contacts: {jobs}; "
          f"outcomes: {outcomes}")
    return 0


def _worker(args: argparse.Namespace) -> int:
    from storage.database import open_database
    from telephony.dialling import DialWorker, WorkerRefused, queue_idle
    from telephony.metrics import WorkerMetrics, default_instance
    from telephony.outbound import OutboundNotConfigured, twilio_client

    settings = get_settings()
    try:
        client = twilio_client(settings.twilio())
        if not settings.public_url:
            raise OutboundNotConfigured(
                "set BOOKING_AGENT_PUBLIC_URL: Twilio fetches the call's instructions from it")
    except OutboundNotConfigured as exc:
        print(f"booking-agent worker: {exc}", file=sys.stderr)
        return EXIT_INVALID
    database = open_database(settings.sqlalchemy_url())
    metrics = WorkerMetrics(settings.instance or default_instance())
    worker = DialWorker(database, settings.twilio(), client, settings.dialler(),
                        name=settings.instance,
                        on_placed=lambda campaign: metrics.placed.labels(campaign).inc())
    if args.metrics_port is not None:
        from prometheus_client import start_http_server

        try:
            start_http_server(args.metrics_port, addr="127.0.0.1", registry=metrics.exposed)
        except OSError as exc:
            print(f"booking-agent worker: cannot serve metrics on port {args.metrics_port}: "
                  f"{exc.strerror or exc}", file=sys.stderr)
            return EXIT_INVALID
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.until_idle:
        def watch() -> None:
            while not stop.wait(settings.dial_poll_seconds):
                if queue_idle(database):
                    stop.set()
        threading.Thread(target=watch, daemon=True).start()
    print(f"worker {worker.name} dialling ({settings.dial_cps:g} calls/s budget per account); "
          "stop with Ctrl-C", file=sys.stderr)
    try:
        counts = worker.run(stop)
    except (WorkerRefused, OutboundNotConfigured) as exc:
        print(f"booking-agent worker: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"worker {worker.name} stopped: {counts.placed} calls placed, {counts.not_placed} "
          f"not taken by Twilio, {counts.outside_hours} deferred to calling hours, "
          f"{counts.do_not_call} on the do-not-call list", file=sys.stderr)
    return 0


def _dnc_numbers(path: str) -> list[str]:
    """The numbers of a do-not-call file, or InputError listing every bad line."""
    from caller_language.phone_numbers import e164

    numbers: list[str] = []
    problems: list[str] = []
    for number, raw in enumerate(read_text(path, encoding="utf-8-sig").splitlines(), 1):
        value = raw.split(",", 1)[0].strip().strip('"')
        if not value or value.startswith("#") or value.lower() in ("phone", "number"):
            continue
        try:
            numbers.append(e164(value))
        except ValueError as exc:
            problems.append(f"  line {number}: {exc}")
    if problems:
        raise InputError(f"{path}: nothing imported\n" + "\n".join(problems))
    return numbers


def _dnc_import(args: argparse.Namespace) -> int:
    from storage.database import open_database
    from telephony.do_not_call import add_numbers

    try:
        numbers = _dnc_numbers(args.file)
    except InputError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    database = open_database(get_settings().sqlalchemy_url())
    added = add_numbers(database, numbers, source="import")
    print(f"{len(numbers)} numbers read, {added} new on the do-not-call list")
    return 0


def _dnc_list(args: argparse.Namespace) -> int:
    from storage.database import open_database
    from telephony.do_not_call import listed_numbers

    for number in listed_numbers(open_database(get_settings().sqlalchemy_url())):
        print(number)
    return 0
