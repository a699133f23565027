"""Contact lists for ``campaign dial``: a bad file is refused whole, every problem named by row."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.contacts_file import ContactsInvalid, load_contacts
from app.settings import get_settings
from storage.database import open_database
from telephony.outbound import dial_list


def _write(tmp_path: Path, data: str | bytes, name: str = "contacts.csv") -> str:
    path = tmp_path / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return str(path)


def _problems(path: str) -> list[tuple[int, str]]:
    with pytest.raises(ContactsInvalid) as error:
        load_contacts(path)
    return error.value.problems


def test_two_phone_columns_are_refused_rather_than_one_silently_winning(tmp_path):
    path = _write(tmp_path, "phone,name,phone\n+12125550101,Ann,+12125550102\n")
    [(row, message)] = _problems(path)
    assert row == 1 and "columns 'phone' and 'phone'" in message


def test_two_columns_giving_one_field_are_refused(tmp_path):
    path = _write(tmp_path, "first_name,phone,FirstName\nAnn,+12125550101,Bo\n")
    [(row, message)] = _problems(path)
    assert row == 1 and "'first_name' and 'FirstName' both give the first name" in message


def test_a_quoted_line_break_is_refused_naming_the_row(tmp_path):
    path = _write(tmp_path, 'phone,company\n+12125550101,Acme\n+12125550102,"Acme\nWest"\n')
    [(row, message)] = _problems(path)
    assert row == 3 and "'company' has a line break" in message


def test_a_value_past_the_csv_field_limit_is_refused_naming_the_row(tmp_path):
    path = _write(tmp_path, "phone,note\n+12125550101,ok\n+12125550102,"
                  + "x" * (csv.field_size_limit() + 1) + "\n")
    [(row, message)] = _problems(path)
    assert row == 3 and "longer than 131,072 characters" in message


def test_an_over_long_value_is_refused_naming_the_row_and_column(tmp_path):
    path = _write(tmp_path, "phone,note\n+12125550101," + "x" * 5000 + "\n")
    [(row, message)] = _problems(path)
    assert row == 2 and "'note' is 5,000 characters long" in message


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path):
    path = _write(tmp_path, b"phone,company\n+12125550101,M\xfcller GmbH\n")
    [(row, message)] = _problems(path)
    assert row == 0 and "line 2: not UTF-8 text (byte 0xfc)" in message


def test_an_empty_file_and_an_unnamed_column_with_values_are_refused(tmp_path):
    assert _problems(_write(tmp_path, "")) == [
        (1, "the file is empty: a header with a phone column is needed")]
    [(row, message)] = _problems(_write(tmp_path, "phone,\n+12125550101,x\n", "unnamed.csv"))
    assert row == 2 and "column 2 (no name in the header) has a value" in message


def test_a_byte_order_mark_and_blank_lines_are_fine(tmp_path):
    path = _write(tmp_path, "\ufeffphone,first_name\r\n+12125550101,Ann\r\n\r\n+12125550102,Bo\r\n")
    assert [c.first_name for c in load_contacts(path)] == ["Ann", "Bo"]


@pytest.fixture
def dial_env(tmp_path, monkeypatch):
    """``campaign dial`` ready to run, its database an SQLite file in tmp_path."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    monkeypatch.setenv("BOOKING_AGENT_DATABASE_URL", url)
    # No public URL: a usable contact list still stops at the settings check, before the list.
    monkeypatch.delenv("BOOKING_AGENT_PUBLIC_URL", raising=False)
    monkeypatch.setenv("BOOKING_AGENT_TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("BOOKING_AGENT_TWILIO_AUTH_TOKEN", "test-auth-token")
    get_settings.cache_clear()
    (tmp_path / "campaign.yaml").write_text("name: renewals\nphone_numbers: ['+14155550100']\n")
    yield tmp_path, url
    get_settings.cache_clear()


def _dial_list(url: str) -> list:
    database = open_database(url)
    try:
        return dial_list(database, "renewals")
    finally:
        database.dispose()


def test_campaign_dial_imports_nothing_from_a_list_with_a_bad_row(dial_env, capsys):
    tmp_path, url = dial_env
    _write(tmp_path, 'phone,note\n+12125550101,fine\n+12125550102,"two\nlines"\n')
    assert main(["campaign", "dial", "campaign.yaml", "--contacts", "contacts.csv"]) == 2
    err = capsys.readouterr().err
    assert "contacts.csv: contact list not usable" in err and "row 3:" in err
    assert _dial_list(url) == []


_CSV_TEXT = st.lists(
    st.lists(st.one_of(st.sampled_from(["phone", "first_name", "Phone", "note", "",
                                        "+12125550101", "+1 212 555 0102", '"a\nb"', '"']),
                       st.text(max_size=12)), max_size=5),
    max_size=6,
).map(lambda rows: "\n".join(",".join(row) for row in rows))


@given(data=st.one_of(st.binary(max_size=300), _CSV_TEXT.map(str.encode)))
@example(data=b"phone\n+12125550101\n")
@example(data=b'phone,x\n"+12125550101,\x00\n')
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_contacts_file_is_read_or_refused_by_row_never_a_traceback(tmp_path, data):
    path = _write(tmp_path, data, "any.csv")
    try:
        contacts = load_contacts(path)
    except ContactsInvalid as error:
        assert error.problems
        assert all(row >= 0 and message for row, message in error.problems)
        return
    assert all(c.phone and c.phone.startswith("+") for c in contacts)


@given(data=st.one_of(st.binary(max_size=200), _CSV_TEXT.map(str.encode)))
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_campaign_dial_refuses_any_unusable_input_with_exit_2_and_an_untouched_list(
        dial_env, capsys, data):
    tmp_path, url = dial_env
    _write(tmp_path, data, "any.csv")
    assert main(["campaign", "dial", "campaign.yaml", "--contacts", "any.csv"]) == 2
    err = capsys.readouterr().err
    assert "contact list not usable" in err or "BOOKING_AGENT_PUBLIC_URL" in err
    assert _dial_list(url) == []
