"""Operators and API keys: made from the CLI, passwords hashed, keys shown once."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli import main
from app.operators.accounts import (
    AccountError,
    any_operator,
    api_keys,
    create_api_key,
    create_operator,
    find_organisation,
    organisation_of_key,
    sign_in,
)
from storage.database import Database, open_database
from storage.operator_tables import ApiKeyRow, OperatorRow

PASSWORD = "correct horse battery"


def test_an_operator_signs_in_with_their_password_which_is_stored_only_as_argon2(
    database: Database,
) -> None:
    assert not any_operator(database)
    made = create_operator(database, " Ada@Example.COM ", PASSWORD, "Acme")

    assert any_operator(database)
    assert made.email == "ada@example.com" and made.organisation.name == "Acme"
    with database.session() as session:
        stored = session.scalars(select(OperatorRow.password_hash)).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert sign_in(database, "ada@example.com", PASSWORD) == made
    assert sign_in(database, "ada@example.com", PASSWORD + "!") is None
    assert sign_in(database, "nobody@example.com", PASSWORD) is None
    assert sign_in(database, "not an address", PASSWORD) is None


def test_a_second_operator_joins_the_same_organisation_by_name(database: Database) -> None:
    first = create_operator(database, "a@acme.example", PASSWORD, "Acme")
    second = create_operator(database, "b@acme.example", PASSWORD, "Acme")

    assert second.organisation == first.organisation


@pytest.mark.parametrize("email, password, org, problem", [
    ("a@acme.example", "short", "Acme", "at least"),
    ("not-an-address", PASSWORD, "Acme", "not an e-mail"),
    ("a@acme.example", PASSWORD, "  ", "needs a name"),
])
def test_an_operator_with_bad_details_is_refused_and_nothing_is_made(
    database: Database, email: str, password: str, org: str, problem: str
) -> None:
    with pytest.raises(AccountError, match=problem):
        create_operator(database, email, password, org)
    assert not any_operator(database)


def test_the_same_email_cannot_be_two_operators(database: Database) -> None:
    create_operator(database, "a@acme.example", PASSWORD, "Acme")

    with pytest.raises(AccountError, match="already exists"):
        create_operator(database, "A@acme.example", PASSWORD, "Globex")
    assert find_organisation(database, "Globex") is None


def test_an_api_key_is_kept_only_as_a_digest_and_works_until_revoked(
    database: Database,
) -> None:
    org = create_operator(database, "a@acme.example", PASSWORD, "Acme").organisation
    listed, key = create_api_key(database, org, "dialler")

    with database.session() as session:
        row = session.scalars(select(ApiKeyRow)).one()
    assert key.split("_")[-1] not in row.secret_hash and row.prefix in key
    assert organisation_of_key(database, key) == org
    assert organisation_of_key(database, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert [k.id for k in api_keys(database, org)] == [listed.id]


def _cli(monkeypatch: pytest.MonkeyPatch, url: str, *argv: str, stdin: str = "") -> int:
    monkeypatch.setenv("BOOKING_AGENT_DATABASE_URL", url)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


def test_the_cli_makes_the_first_operator_and_a_key_the_api_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    assert _cli(monkeypatch, url, "operator", "create", "ada@example.com", "--org", "Acme",
                "--password-stdin", stdin=PASSWORD + "\n") == 0
    assert _cli(monkeypatch, url, "apikey", "create", "--org", "Acme", "--name", "ci") == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]

    database = open_database(url)
    org = organisation_of_key(database, key)
    assert org is not None and org.name == "Acme"
    [listed] = api_keys(database, org)

    assert _cli(monkeypatch, url, "apikey", "revoke", listed.id, "--org", "Acme") == 0
    assert organisation_of_key(database, key) is None
    assert _cli(monkeypatch, url, "apikey", "list", "--org", "Acme") == 0
    assert "revoked" in capsys.readouterr().out
    database.dispose()


@pytest.mark.parametrize("argv, stdin, problem", [
    (["operator", "create", "ada@example.com", "--org", "Acme", "--password-stdin"], "short\n",
     "at least"),
    (["apikey", "create", "--org", "Nobody", "--name", "ci"], "", "no organisation"),
    (["apikey", "revoke", "no-such-key", "--org", "Nobody"], "", "no organisation"),
])
def test_the_cli_refuses_bad_requests_with_a_message_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv: list[str], stdin: str, problem: str,
) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"

    assert _cli(monkeypatch, url, *argv, stdin=stdin) == 2
    assert problem in capsys.readouterr().err
