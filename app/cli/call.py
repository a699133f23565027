"""``booking-agent call NUMBER`` and ``booking-agent campaign dial``: outbound calls."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from app.campaign_files import CampaignInvalid, load_campaign
from app.settings import get_settings

EXIT_INVALID = 2
EXIT_FAILED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``call`` command."""
    call = subparsers.add_parser(
        "call", help="place a test call (e.g. to your own phone) through the call server")
    call.add_argument("number", help="the number to call, in +E.164 form")
    call.add_argument("--campaign", required=True, metavar="FILE")
    call.add_argument("--from", dest="from_number", metavar="NUMBER",
                      help="your Twilio number (default: the campaign's first phone_number)")
    call.add_argument("--name", help="the callee's name, for the greeting")
    call.set_defaults(func=_call)


def register_dial(commands: argparse._SubParsersAction) -> None:
    """Add ``campaign dial`` (called from app.cli.campaign)."""
    dial = commands.add_parser(
        "dial", help="dial a contact list at a pace; stop with Ctrl-C, run again to resume")
    dial.add_argument("file", help="campaign file")
    dial.add_argument("--contacts", required=True, metavar="CSV",
                      help="CSV with a phone column; first_name, last_name, email, company and "
                           "any other columns become {recipient.*} tokens")
    dial.add_argument("--pace", type=_pace, metavar="SECONDS",
                      help="seconds between calls (default BOOKING_AGENT_DIAL_PACE_SECONDS)")
    dial.add_argument("--from", dest="from_number", metavar="NUMBER")
    dial.set_defaults(func=_dial)


def _pace(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= seconds <= 3600:  # also refuses nan and inf
        raise argparse.ArgumentTypeError("must be from 0 to 3600 seconds")
    return seconds


def _call(args: argparse.Namespace) -> int:
    from twilio.base.exceptions import TwilioRestException

    from calendar_backend.booking_settings import Recipient
    from caller_language.phone_numbers import e164
    from storage.database import open_database
    from telephony.outbound import CallNotPlaced, caller_id, place_call, twilio_client

    settings = get_settings()
    try:
        campaign = load_campaign(args.campaign)
        number = e164(args.number)
        client = twilio_client(settings.twilio())
        caller_id(settings.twilio(), campaign, args.from_number)
    except (CampaignInvalid, ValueError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    recipient = Recipient(first_name=args.name, phone=number) if args.name else None
    database = open_database(settings.sqlalchemy_url())
    try:
        sid = place_call(client, settings.twilio(), database, campaign, number,
                         from_number=args.from_number, recipient=recipient)
    except CallNotPlaced as exc:
        print(f"the call was not placed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except TwilioRestException as exc:
        print(f"Twilio refused the call: {exc.msg}", file=sys.stderr)
        return EXIT_FAILED
    print(f"calling {number}: call {sid} (see: booking-agent calls show {sid})")
    return 0


def _dial(args: argparse.Namespace) -> int:
    from app.contacts_file import ContactsInvalid, load_contacts
    from storage.database import open_database
    from telephony.outbound import (
        CallNotPlaced,
        ClaimedContact,
        add_contacts,
        caller_id,
        check_account,
        dial_campaign,
        place_call,
        twilio_client,
    )

    settings = get_settings()
    # Everything is checked before any contact is added or claimed: a missing setting or
    # an account Twilio refuses must not reach the list (it would fail every contact).
    try:
        campaign = load_campaign(args.file)
        contacts = load_contacts(args.contacts)
        client = twilio_client(settings.twilio())
        caller_id(settings.twilio(), campaign, args.from_number)
        check_account(client, settings.twilio())
    except (CampaignInvalid, ContactsInvalid, ValueError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except CallNotPlaced as exc:
        print(f"nobody called: {exc}; run the same command again later", file=sys.stderr)
        return EXIT_FAILED
    database = open_database(settings.sqlalchemy_url())
    added = add_contacts(database, campaign.name, contacts)
    print(f"{len(contacts)} contacts ({added} new) for campaign {campaign.name!r}")

    def place(contact: ClaimedContact) -> str:
        return place_call(client, settings.twilio(), database, campaign, contact.phone,
                          from_number=args.from_number, recipient=contact.recipient)

    async def run() -> int:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        pace = args.pace if args.pace is not None else settings.dial_pace_seconds
        report = await dial_campaign(database, campaign, place=place, pace_seconds=pace,
                                     stop=stop)
        for phone, sid in report.dialled:
            print(f"called {phone}: {sid}")
        for phone, reason in report.failed:
            print(f"failed {phone}: {reason}", file=sys.stderr)
        if report.not_placed:
            phone, reason = report.not_placed
            print(f"not called {phone}: {reason}\n{phone} is back on the list; dialling "
                  "stopped. Run the same command again to resume.", file=sys.stderr)
        if report.stopped:
            print("stopped; run the same command again to resume", file=sys.stderr)
        return EXIT_FAILED if report.failed or report.not_placed else 0

    return asyncio.run(run())
