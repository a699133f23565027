"""Operator API routes for dialling an organisation's campaign through the queue: upload its
contact list (CSV), start, pause, resume or stop dialling, and follow its progress.

An :class:`~fastapi.APIRouter` built by :func:`dialling_router` with the API's own
organisation dependency and error type, so auth (401), organisation scoping (another
organisation's campaign is 404) and error bodies are those of every other route.
"""

# No ``from __future__ import annotations``: the routes' ``Org`` annotation is built inside
# dialling_router, and FastAPI must see it as an object, not a name to look up.
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from app.contacts_file import ContactsInvalid, parse_contacts
from app.operators.accounts import Organisation
from app.operators.campaigns import get_campaign
from storage.database import Database
from telephony.dialling import CampaignNameTaken, enqueue_campaign, progress, set_campaign_state

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class DiallingProgress(BaseModel):
    """Where dialling a campaign stands: contacts per job state, finished ones per outcome."""

    campaign: str
    state: str
    total: int
    finished: bool
    jobs: dict[str, int]
    outcomes: dict[str, int]


class ContactsAdded(BaseModel):
    """An uploaded contact list: how many contacts it had, how many were new to the queue."""

    contacts: int
    added: int
    progress: DiallingProgress


def _problem(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def dialling_router(organisation: Callable[..., Organisation],
                    error: Callable[..., Exception]) -> APIRouter:
    """The dialling routes, authenticated by ``organisation`` (the API's key dependency);
    refusals are ``error(status, detail[, problems])`` (the API's own error, which turns
    ``{"path", "message"}`` problems into its error body)."""
    router = APIRouter(tags=["dialling"])
    Org = Annotated[Organisation, Depends(organisation)]  # noqa: N806 - a type, as elsewhere

    def _campaign(database: Database, org: Organisation, campaign_id: str) -> Any:
        stored = get_campaign(database, org, campaign_id)
        if stored is None:
            raise error(404, "no such campaign")
        return stored.campaign

    def _progress(database: Database, org: Organisation, name: str) -> DiallingProgress:
        found = progress(database, name, organisation_id=org.id)
        if found is None:
            raise error(404, "the campaign has no contacts in the dialling queue; "
                             "upload its contact list first")
        return DiallingProgress(campaign=found.campaign, state=found.state, total=found.total,
                                finished=found.finished, jobs=found.jobs,
                                outcomes=found.outcomes)

    @router.post("/campaigns/{campaign_id}/contacts", status_code=201,
                 response_model=ContactsAdded)
    async def upload_contacts(request: Request, campaign_id: str,
                              org: Org) -> ContactsAdded:
        """Add a contact list (CSV text, a ``phone`` column; a ``zone`` column gives the
        contact's time zone) to the campaign's dialling queue. A list with any bad row is
        refused whole, every row named. A campaign new to the queue waits, paused, for
        ``POST .../dialling/start``."""
        database: Database = request.app.state.database
        campaign = _campaign(database, org, campaign_id)
        if not campaign.phone_numbers:
            raise error(422, "invalid request", [_problem(
                "phone_numbers", "the campaign lists no phone_numbers to call from")])
        raw = await request.body()
        if len(raw) > MAX_UPLOAD_BYTES:
            raise error(413, f"a contact list is at most {MAX_UPLOAD_BYTES // 2**20} MB")
        try:
            contacts = parse_contacts(raw.decode("utf-8-sig"), "contacts")
            added = await database.run(lambda: enqueue_campaign(
                database, campaign, contacts, from_number=campaign.phone_numbers[0],
                organisation_id=org.id, start=False))
        except UnicodeDecodeError:
            raise error(422, "invalid contact list",
                        [_problem("", "the file is not UTF-8 text")]) from None
        except ContactsInvalid as exc:
            raise error(422, "invalid contact list",
                        [_problem(f"row {row}" if row else "", message)
                         for row, message in exc.problems]) from None
        except CampaignNameTaken as exc:
            raise error(409, str(exc)) from None
        except ValueError as exc:  # a zone column naming no known zone
            raise error(422, "invalid contact list", [_problem("zone", str(exc))]) from None
        return ContactsAdded(contacts=len(contacts), added=added,
                             progress=_progress(database, org, campaign.name))

    @router.get("/campaigns/{campaign_id}/dialling", response_model=DiallingProgress)
    def dialling_progress(request: Request, campaign_id: str,
                          org: Org) -> DiallingProgress:
        """How far dialling the campaign got."""
        database: Database = request.app.state.database
        return _progress(database, org, _campaign(database, org, campaign_id).name)

    @router.post("/campaigns/{campaign_id}/dialling/{action}", response_model=DiallingProgress)
    def control(request: Request, campaign_id: str,
                action: Literal["start", "pause", "resume", "stop"],
                org: Org) -> DiallingProgress:
        """Start (or resume) dialling, pause it (calls in progress go on) or stop it."""
        database: Database = request.app.state.database
        name = _campaign(database, org, campaign_id).name
        state = {"start": "running", "resume": "running", "pause": "paused",
                 "stop": "stopped"}[action]
        if not set_campaign_state(database, name, state, organisation_id=org.id):
            _progress(database, org, name)  # raises the 404 that says what to do
        return _progress(database, org, name)

    return router
