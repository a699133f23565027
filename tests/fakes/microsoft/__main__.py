"""``python -m tests.fakes.microsoft --port N``: run the Microsoft emulator alone."""

from __future__ import annotations

import argparse

from tests.fakes.microsoft.server import MicrosoftEmulator


def main() -> None:
    """Parse the options, register the accounts, print the settings and serve."""
    parser = argparse.ArgumentParser(description="Local Microsoft Graph + login emulator")
    parser.add_argument("--port", type=int, default=8400)
    parser.add_argument("--account", action="append", default=[],
                        help="a work/school account to register (repeatable)")
    parser.add_argument("--personal-account", action="append", default=[],
                        help="a personal Microsoft account to register (repeatable)")
    args = parser.parse_args()
    emulator = MicrosoftEmulator(args.port)
    for username in args.account or ([] if args.personal_account else ["owner@contoso.com"]):
        emulator.add_account(username)
    for username in args.personal_account:
        emulator.add_account(username, personal=True)
    print(f"BOOKING_AGENT_GRAPH_BASE_URL={emulator.graph_base_url}")
    print(f"BOOKING_AGENT_MICROSOFT_LOGIN_URL={emulator.login_url}")
    print(f"BOOKING_AGENT_MICROSOFT_CLIENT_ID={emulator.client_id}")
    print(f"BOOKING_AGENT_MICROSOFT_CLIENT_SECRET={emulator.client_secret}", flush=True)
    emulator.serve_forever()


if __name__ == "__main__":
    main()
