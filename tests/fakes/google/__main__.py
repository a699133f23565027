"""``python -m tests.fakes.google --port N``: run the Google emulator alone."""

from __future__ import annotations

import argparse

from tests.fakes.google.server import GoogleEmulator


def main() -> None:
    """Parse the options, register the accounts, print the settings and serve."""
    parser = argparse.ArgumentParser(description="Local Google Calendar v3 + OAuth emulator")
    parser.add_argument("--port", type=int, default=8500)
    parser.add_argument("--account", action="append", default=[],
                        help="a Google account to register (repeatable)")
    parser.add_argument("--time-zone", default="America/Los_Angeles",
                        help="the accounts' calendar zone (IANA)")
    args = parser.parse_args()
    emulator = GoogleEmulator(args.port)
    for email in args.account or ["owner@gmail.com"]:
        emulator.add_account(email, time_zone=args.time_zone)
    print(f"BOOKING_AGENT_GOOGLE_CALENDAR_BASE_URL={emulator.calendar_base_url}")
    print(f"BOOKING_AGENT_GOOGLE_AUTH_URL={emulator.auth_url}")
    print(f"BOOKING_AGENT_GOOGLE_TOKEN_URL={emulator.token_url}")
    print(f"BOOKING_AGENT_GOOGLE_REVOKE_URL={emulator.revoke_url}")
    print(f"BOOKING_AGENT_GOOGLE_CLIENT_ID={emulator.client_id}")
    print(f"BOOKING_AGENT_GOOGLE_CLIENT_SECRET={emulator.client_secret}", flush=True)
    emulator.serve_forever()


if __name__ == "__main__":
    main()
