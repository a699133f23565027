"""``booking-agent operator create`` and ``booking-agent apikey create|list|revoke``:
the first operator of an organisation, and the organisation's API keys."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from app.settings import get_settings

if TYPE_CHECKING:
    from app.operators.accounts import Organisation
    from storage.database import Database

EXIT_REFUSED = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``operator`` and ``apikey`` command groups."""
    operator = subparsers.add_parser("operator", help="people who sign in to the console")
    commands = operator.add_subparsers(dest="operator_command", metavar="COMMAND", required=True)
    create = commands.add_parser(
        "create", help="an operator of an organisation (made if new)",
        description="The password is asked for, or read from standard input with "
                    "--password-stdin.")
    create.add_argument("email")
    create.add_argument("--org", required=True, metavar="NAME", help="the organisation")
    create.add_argument("--password-stdin", action="store_true")
    create.set_defaults(func=_create_operator)

    keys = subparsers.add_parser("apikey", help="API keys of an organisation")
    key_commands = keys.add_subparsers(dest="apikey_command", metavar="COMMAND", required=True)
    new = key_commands.add_parser("create", help="a new key (printed once, never again)")
    new.add_argument("--org", required=True, metavar="NAME")
    new.add_argument("--name", required=True, help="what the key is for")
    new.set_defaults(func=_create_key)
    listing = key_commands.add_parser("list", help="the organisation's keys (not their secrets)")
    listing.add_argument("--org", required=True, metavar="NAME")
    listing.set_defaults(func=_list_keys)
    revoke = key_commands.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("id")
    revoke.add_argument("--org", required=True, metavar="NAME")
    revoke.set_defaults(func=_revoke_key)


def _database() -> Database:
    from storage.database import open_database

    return open_database(get_settings().sqlalchemy_url())


def _refused(message: str) -> int:
    print(f"booking-agent: {message}", file=sys.stderr)
    return EXIT_REFUSED


def _create_operator(args: argparse.Namespace) -> int:
    from app.operators.accounts import AccountError, create_operator

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            return _refused("the passwords differ")
    try:
        made = create_operator(_database(), args.email, password, args.org)
    except AccountError as exc:
        return _refused(str(exc))
    print(f"operator {made.email} created in {made.organisation.name}")
    return 0


def _organisation(database: Database, name: str) -> Organisation:
    """The organisation called ``name``; AccountError if there is none."""
    from app.operators.accounts import AccountError, find_organisation

    found = find_organisation(database, name)
    if found is None:
        raise AccountError(f"no organisation named {name!r}")
    return found


def _create_key(args: argparse.Namespace) -> int:
    from app.operators.accounts import AccountError, create_api_key

    database = _database()
    try:
        org = _organisation(database, args.org)
        key, secret = create_api_key(database, org, args.name)
    except AccountError as exc:
        return _refused(str(exc))
    print(f"API key {key.id} ({key.name}) for {org.name}; keep it now, it is not shown again:")
    print(secret)
    return 0


def _list_keys(args: argparse.Namespace) -> int:
    from app.operators.accounts import AccountError, api_keys

    database = _database()
    try:
        org = _organisation(database, args.org)
    except AccountError as exc:
        return _refused(str(exc))
    for key in api_keys(database, org):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        print(f"{key.id}  bka_{key.prefix}_…  {key.created_at:%Y-%m-%d}  {state:18}  {key.name}")
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    from app.operators.accounts import AccountError, revoke_api_key

    database = _database()
    try:
        key = revoke_api_key(database, _organisation(database, args.org), args.id)
    except AccountError as exc:
        return _refused(str(exc))
    print(f"API key {key.id} ({key.name}) revoked")
    return 0
