"""Operator API routes for dialling an organisation's campaign through the queue: upload its
contact list (CSV), start, pause, resume or stop dialling, and follow its progress (the work
is :mod:`app.operators.dialling`'s, shared with the console).

An :class:`~fastapi.APIRouter` built by :func:`dialling_router` with the API's own
organisation dependency and error type, so auth (401), organisation scoping (another
organisation's campaign is 404) and error bodies are those of every other route.
"""

# No ``from __future__ import annotations``: the routes' ``Org`` annotation is built inside
# dialling_router, and FastAPI must see it as an object, not a name to look up.
import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from app.operators.accounts import Organisation
from app.operators.dialling import (
    MAX_UPLOAD_BYTES,
    Action,
    ContactList,
    ContactsAdded,
    DiallingProgress,
    DiallingRefused,
    JobState,
    add_contacts,
    control_dialling,
    dialling_progress,
    list_contacts,
)
from storage.database import Database


def dialling_router(organisation: Callable[..., Organisation],
                    error: Callable[..., Exception]) -> APIRouter:
    """The dialling routes, authenticated by ``organisation`` (the API's key dependency);
    refusals are ``error(status, detail[, problems])`` (the API's own error, which turns
    ``{"path", "message"}`` problems into its error body)."""
    router = APIRouter(tags=["dialling"])
    Org = Annotated[Organisation, Depends(organisation)]  # noqa: N806 - a type, as elsewhere

    async def run(request: Request, work: Callable[[Database], Any]) -> Any:
        database: Database = request.app.state.database
        try:
            return await asyncio.to_thread(work, database)
        except DiallingRefused as exc:
            raise error(exc.status, exc.detail, [{"path": path, "message": message}
                                                 for path, message in exc.problems]) from None

    @router.post("/campaigns/{campaign_id}/contacts", status_code=201,
                 response_model=ContactsAdded)
    async def upload_contacts(request: Request, campaign_id: str, org: Org) -> ContactsAdded:
        """Add a contact list (CSV text, a ``phone`` column; a ``zone`` column gives the
        contact's time zone) to the campaign's dialling queue. A list with any bad row is
        refused whole, every row named. A campaign new to the queue waits, paused, for
        ``POST .../dialling/start``."""
        raw = await request.body()
        if len(raw) > MAX_UPLOAD_BYTES:  # refused before the campaign is even looked up
            raise error(413, f"a contact list is at most {MAX_UPLOAD_BYTES // 2**20} MB")
        return await run(request, lambda db: add_contacts(db, org, campaign_id, raw))

    @router.get("/campaigns/{campaign_id}/contacts", response_model=ContactList)
    async def contacts(request: Request, campaign_id: str, org: Org,
                       state: Annotated[JobState | None, Query()] = None,
                       offset: Annotated[int, Query(ge=0)] = 0,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> ContactList:
        """The campaign's contacts in the queue, in the order they were added: each one's
        state (queued, leased, calling, done), attempts, outcome and next attempt."""
        return await run(request, lambda db: list_contacts(db, org, campaign_id, state=state,
                                                           offset=offset, limit=limit))

    @router.get("/campaigns/{campaign_id}/dialling", response_model=DiallingProgress)
    async def progress(request: Request, campaign_id: str, org: Org) -> DiallingProgress:
        """How far dialling the campaign got."""
        return await run(request, lambda db: dialling_progress(db, org, campaign_id))

    @router.post("/campaigns/{campaign_id}/dialling/{action}", response_model=DiallingProgress)
    async def control(request: Request, campaign_id: str, action: Action,
                      org: Org) -> DiallingProgress:
        """Start (or resume) dialling, pause it (calls in progress go on) or stop it."""
        return await run(request, lambda db: control_dialling(db, org, campaign_id, action))

    return router
