"""The numbers stored campaigns answer: an indexed look-up per inbound call, kept in step with
every create, update and delete, each number one organisation's even when several claim it at
once, and indexed for campaigns stored before the index existed."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from app.operators.accounts import create_operator
from app.operators.campaigns import (
    PhoneNumberTaken,
    StoredCampaigns,
    create_campaign,
    delete_campaign,
    patch_campaign,
)
from storage.database import Database, open_database
from storage.dialling_tables import DialCampaignRow, DialJobRow
from storage.operator_tables import CampaignNumberRow, CampaignRow, OrganisationRow
from tests.conftest import POSTGRES_URL

MAIN, SALES, SPARE = "+14155550100", "+14155550101", "+14155550102"
RIVALS = 6


def _document(name: str, *numbers: str) -> dict[str, Any]:
    return {"name": name, "business_name": "Acme Dental", "phone_numbers": list(numbers)}


def _organisation(database: Database, name: str) -> Any:
    return create_operator(database, f"owner@{name.lower()}.example", "long enough password",
                           name).organisation


def _index(database: Database) -> list[tuple[str, str, str]]:
    """The numbers index: (number, campaign id, organisation id) rows."""
    with database.session() as session:
        return [tuple(row) for row in session.execute(select(
            CampaignNumberRow.number, CampaignNumberRow.campaign_id,
            CampaignNumberRow.organisation_id).order_by(
            CampaignNumberRow.number, CampaignNumberRow.campaign_id))]


def _answering(database: Database, dialled: str) -> tuple[str, str, str] | None:
    """Which campaign answers ``dialled``: (campaign id, campaign name, organisation id)."""
    found = StoredCampaigns(database).answering(dialled)
    return None if found is None else (found[0], found[1].name, found[2])


def test_inbound_call_finds_its_campaign_by_indexed_number(database: Database) -> None:
    acme = _organisation(database, "Acme")
    spring = create_campaign(database, acme, _document("spring", MAIN, "+1 415 555 0101"))

    # The document's numbers, in E.164, each indexed for the campaign and its organisation.
    assert _index(database) == [(MAIN, spring.id, acme.id), (SALES, spring.id, acme.id)]
    assert _answering(database, MAIN) == (spring.id, "spring", acme.id)
    assert _answering(database, SALES) == (spring.id, "spring", acme.id)
    assert _answering(database, SPARE) is None

    patch_campaign(database, acme, spring.id, {"phone_numbers": [MAIN, SPARE]})
    assert _index(database) == [(MAIN, spring.id, acme.id), (SPARE, spring.id, acme.id)]
    assert _answering(database, SALES) is None
    assert _answering(database, SPARE) == (spring.id, "spring", acme.id)
    # The number dropped is free again: another organisation may take it.
    globex = _organisation(database, "Globex")
    theirs = create_campaign(database, globex, _document("spring", SALES))
    assert _answering(database, SALES) == (theirs.id, "spring", globex.id)

    # The call is routed by the index, not by reading documents: a row gone, no answer.
    with database.session() as session:
        session.execute(delete(CampaignNumberRow).where(CampaignNumberRow.number == SPARE))
    assert _answering(database, SPARE) is None

    assert delete_campaign(database, acme, spring.id)
    assert _index(database) == [(SALES, theirs.id, globex.id)]
    assert _answering(database, MAIN) is None


def test_of_an_organisations_campaigns_sharing_a_number_the_oldest_answers(
        database: Database) -> None:
    acme = _organisation(database, "Acme")
    older = create_campaign(database, acme, _document("spring", MAIN))
    newer = create_campaign(database, acme, _document("renewals", MAIN, SALES))
    assert _answering(database, MAIN) == (older.id, "spring", acme.id)

    delete_campaign(database, acme, older.id)
    # The number stays the organisation's while one of its campaigns lists it.
    assert _answering(database, MAIN) == (newer.id, "renewals", acme.id)
    with pytest.raises(PhoneNumberTaken, match=re.escape(MAIN)):
        create_campaign(database, _organisation(database, "Globex"), _document("x", MAIN))


def test_a_refused_campaign_changes_no_number(database: Database) -> None:
    acme, globex = _organisation(database, "Acme"), _organisation(database, "Globex")
    ours = create_campaign(database, acme, _document("spring", MAIN))
    theirs = create_campaign(database, globex, _document("spring", SALES))

    with pytest.raises(PhoneNumberTaken, match=re.escape(MAIN)):
        create_campaign(database, globex, _document("autumn", SPARE, MAIN))
    with pytest.raises(PhoneNumberTaken, match=re.escape(MAIN)):
        patch_campaign(database, globex, theirs.id, {"phone_numbers": [SPARE, MAIN]})

    assert _index(database) == sorted([(MAIN, ours.id, acme.id), (SALES, theirs.id, globex.id)])
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(CampaignRow)) == 2
    assert _answering(database, SPARE) is None


def test_organisations_claiming_one_number_at_once_leave_it_to_exactly_one(
        database: Database) -> None:
    rivals = [_organisation(database, f"Rival{i}") for i in range(RIVALS)]
    for number in (MAIN, SALES, SPARE):
        start = threading.Barrier(RIVALS)

        def claim(organisation: Any, number: str = number,
                  start: threading.Barrier = start) -> str:
            start.wait()
            try:
                create_campaign(database, organisation, _document(f"spring {number}", number))
            except PhoneNumberTaken:
                return "taken"
            return "won"

        with ThreadPoolExecutor(RIVALS) as pool:
            results = list(pool.map(claim, rivals))

        assert sorted(results) == ["taken"] * (RIVALS - 1) + ["won"], number
        winner = rivals[results.index("won")]
        assert [(n, org) for n, _, org in _index(database) if n == number] == [
            (number, winner.id)]
        answering = _answering(database, number)
        assert answering is not None and answering[2] == winner.id


def _delete_while_claiming(database: Database, owner: Any, claimant: Any,
                           campaign_id: str) -> str | None:
    """``owner`` deletes the campaign that has ``MAIN`` as ``claimant`` asks for it: the id
    of the claimant's campaign, or None if the number was still taken."""
    start = threading.Barrier(2)

    def release() -> None:
        start.wait()
        delete_campaign(database, owner, campaign_id)

    def claim() -> str | None:
        start.wait()
        try:
            return create_campaign(database, claimant, _document("spring", MAIN)).id
        except PhoneNumberTaken:
            return None

    with ThreadPoolExecutor(2) as pool:
        released, claimed = pool.submit(release), pool.submit(claim)
        released.result()
        return claimed.result()


def test_a_number_released_while_another_organisation_claims_it_goes_to_one_of_them(
        database: Database) -> None:
    acme, globex = _organisation(database, "Acme"), _organisation(database, "Globex")
    for _ in range(3):
        ours = create_campaign(database, acme, _document("spring", MAIN))
        theirs = _delete_while_claiming(database, acme, globex, ours.id)
        if theirs is None:  # the claim came before the release: the number is free now
            theirs = create_campaign(database, globex, _document("spring", MAIN)).id
        assert _index(database) == [(MAIN, theirs, globex.id)]
        delete_campaign(database, globex, theirs)
        assert _index(database) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """An empty database no migration has run on yet."""
    if request.param == "sqlite":
        db = open_database(f"sqlite:///{tmp_path_factory.mktemp('db') / 'agent.db'}",
                           migrate=False)
        yield db
        db.dispose()
        return
    db = open_database(POSTGRES_URL, schema=f"t_{uuid.uuid4().hex[:12]}", migrate=False)
    try:
        yield db
    finally:
        db.drop_schema()
        db.dispose()


def test_campaigns_stored_before_numbers_were_indexed_answer_after_the_upgrade(
        unmigrated: Database) -> None:
    database = unmigrated
    database.migrate("0014")
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    acme, globex = str(uuid.uuid4()), str(uuid.uuid4())
    with database.session() as session:
        session.add_all([OrganisationRow(id=acme, name="Acme"),
                         OrganisationRow(id=globex, name="Globex")])
        session.flush()
        session.add_all([
            CampaignRow(id="a-old", organisation_id=acme, name="spring",
                        document=_document("spring", MAIN, SALES), created_at=start,
                        updated_at=start),
            # Listing Acme's number: only a race could have stored it; Acme's kept answering.
            CampaignRow(id="g", organisation_id=globex, name="spring",
                        document=_document("spring", MAIN, SPARE),
                        created_at=start + timedelta(hours=1),
                        updated_at=start + timedelta(hours=1)),
            CampaignRow(id="a-new", organisation_id=acme, name="renewals",
                        document=_document("renewals", MAIN),
                        created_at=start + timedelta(hours=2),
                        updated_at=start + timedelta(hours=2)),
            CampaignRow(id="quiet", organisation_id=acme, name="quiet",
                        document={"name": "quiet"}, created_at=start, updated_at=start),
            # A file campaign already in the dialling queue, with a contact.
            DialCampaignRow(id=1, name="spring", organisation_id=None, from_number=MAIN,
                            created_at=start),
        ])
        session.flush()
        session.add(DialJobRow(campaign_id=1, phone="+12125550101", run_after=start,
                               updated_at=start))

    database.migrate()

    assert _index(database) == [(MAIN, "a-new", acme), (MAIN, "a-old", acme),
                                (SALES, "a-old", acme), (SPARE, "g", globex)]
    assert _answering(database, MAIN) == ("a-old", "spring", acme)
    assert _answering(database, SPARE) == ("g", "spring", globex)
    # The queue kept its campaign and contact through the change of its key.
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(DialJobRow)) == 1
