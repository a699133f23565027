"""The operator REST API, ``/api/v1``: a FastAPI app mounted by ``booking-agent serve``.

Every request carries an organisation's API key (``Authorization: Bearer bka_...``); a
missing, malformed or revoked key is 401. Every object is looked up within the key's
organisation, so another organisation's ids answer 404 exactly as unknown ids do. A body
that is not a valid campaign is 422 with every problem by field path, in the same words
the CLI prints (:mod:`app.validation`). The schema is at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from agent.campaign import Campaign
from app.operators.accounts import Organisation, organisation_of_key
from app.operators.campaigns import (
    CampaignInvalid,
    CampaignNameTaken,
    StoredCampaign,
    create_campaign,
    delete_campaign,
    export_yaml,
    get_campaign,
    list_campaigns,
    parse_yaml,
    patch_campaign,
    replace_campaign,
)
from storage.database import Database

# A campaign document is a few kilobytes; anything far larger is refused before parsing.
MAX_BODY_BYTES = 256 * 1024
_CAMPAIGN_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": Campaign.model_json_schema()}}}}
_YAML_BODY = {"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string"}}}}}


class Problem(BaseModel):
    """One problem with a request, at a dotted field path ("" for the whole body)."""

    path: str
    message: str


class Problems(BaseModel):
    """Why a request was refused: every problem found, not just the first."""

    detail: str
    problems: list[Problem] = Field(default_factory=list)


class CampaignOut(BaseModel):
    """A stored campaign: the document as set (defaults left out) and its bookkeeping."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CampaignList(BaseModel):
    """The organisation's campaigns, by name."""

    campaigns: list[CampaignOut]


class ApiError(Exception):
    """A refusal with its status and :class:`Problems`."""

    def __init__(self, status: int, detail: str, problems: list[Problem] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.body, self.headers = status, Problems(
            detail=detail, problems=problems or []), headers


def _invalid(exc: CampaignInvalid) -> ApiError:
    return ApiError(422, "invalid campaign",
                    [Problem(path=path, message=message) for path, message in exc.problems])


_NOT_FOUND = "no such campaign"
_bearer = HTTPBearer(auto_error=False)


def _organisation(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Organisation:
    """The organisation the request's API key acts for (401 without a valid one)."""
    database: Database = request.app.state.database
    found = organisation_of_key(database, credentials.credentials) if credentials else None
    if found is None:
        raise ApiError(401, "a valid API key is required (Authorization: Bearer bka_...)",
                       headers={"WWW-Authenticate": "Bearer"})
    return found


async def _json_body(request: Request) -> Any:
    """The request body as JSON data (422 if it is not JSON, 413 if too large)."""
    raw = await _bounded_body(request)
    try:
        return json.loads(raw, parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError(422, "invalid request",
                       [Problem(path="", message=f"the body is not JSON: {exc}")]) from None


def _not_json(constant: str) -> Any:
    # Python reads NaN and Infinity; JSON (and a database's JSON column) has no such thing.
    raise ValueError(f"{constant} is not a JSON value")


Org = Annotated[Organisation, Depends(_organisation)]
Body = Annotated[Any, Depends(_json_body)]


def create_operator_api(database: Database) -> FastAPI:
    """The API app for ``database`` (mount it at ``/api/v1``)."""
    api = FastAPI(title="booking-agent operator API", version="1",
                  responses={401: {"model": Problems}, 422: {"model": Problems}})
    api.state.database = database

    @api.exception_handler(ApiError)
    async def refused(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body.model_dump(), status_code=exc.status, headers=exc.headers)

    @api.exception_handler(RequestValidationError)
    async def unreadable(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [Problem(path=".".join(str(p) for p in item["loc"][1:]), message=item["msg"])
                    for item in exc.errors()]
        return JSONResponse(Problems(detail="invalid request", problems=problems).model_dump(),
                            status_code=422)

    def found(campaign: StoredCampaign | None) -> CampaignOut:
        if campaign is None:
            raise ApiError(404, _NOT_FOUND)
        return CampaignOut.model_validate(campaign)

    @api.get("/campaigns", response_model=CampaignList, tags=["campaigns"])
    def campaigns(org: Org) -> CampaignList:
        """The organisation's campaigns."""
        return CampaignList(campaigns=[CampaignOut.model_validate(c)
                                       for c in list_campaigns(database, org)])

    @api.post("/campaigns", status_code=201, response_model=CampaignOut, tags=["campaigns"],
              responses={409: {"model": Problems}}, openapi_extra=_CAMPAIGN_BODY)
    def create(org: Org, body: Body) -> CampaignOut:
        """Create a campaign from a campaign document (the fields of a campaign file)."""
        try:
            return found(create_campaign(database, org, body))
        except CampaignInvalid as exc:
            raise _invalid(exc) from None
        except CampaignNameTaken as exc:
            raise ApiError(409, str(exc)) from None

    @api.post("/campaigns/import", status_code=201, response_model=CampaignOut,
              tags=["campaigns"], responses={409: {"model": Problems}}, openapi_extra=_YAML_BODY)
    async def import_yaml(org: Org, request: Request) -> CampaignOut:
        """Create a campaign from a campaign file (YAML text, as the CLI reads it)."""
        raw = await _bounded_body(request)
        try:
            text = raw.decode("utf-8")
            document = parse_yaml(text)
            return found(create_campaign(database, org, document))
        except UnicodeDecodeError:
            raise ApiError(422, "invalid campaign",
                           [Problem(path="", message="the file is not UTF-8 text")]) from None
        except CampaignInvalid as exc:
            raise _invalid(exc) from None
        except CampaignNameTaken as exc:
            raise ApiError(409, str(exc)) from None

    @api.get("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"],
             responses={404: {"model": Problems}})
    def read(org: Org, campaign_id: str) -> CampaignOut:
        """One campaign."""
        return found(get_campaign(database, org, campaign_id))

    @api.get("/campaigns/{campaign_id}/export", response_class=PlainTextResponse,
             tags=["campaigns"], responses={404: {"model": Problems}})
    def export(org: Org, campaign_id: str) -> PlainTextResponse:
        """The campaign as a campaign file (YAML)."""
        campaign = get_campaign(database, org, campaign_id)
        if campaign is None:
            raise ApiError(404, _NOT_FOUND)
        return PlainTextResponse(export_yaml(campaign), media_type="application/yaml")

    @api.put("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"],
             responses={404: {"model": Problems}, 409: {"model": Problems}},
             openapi_extra=_CAMPAIGN_BODY)
    def replace(org: Org, campaign_id: str, body: Body) -> CampaignOut:
        """Replace a campaign's document whole."""
        return _changed(lambda: replace_campaign(database, org, campaign_id, body))

    @api.patch("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"],
               responses={404: {"model": Problems}, 409: {"model": Problems}})
    def patch(org: Org, campaign_id: str, body: Body) -> CampaignOut:
        """Change some fields (a JSON merge patch, RFC 7396): ``{"booking": {"enabled":
        false}}`` turns booking off. The result is validated whole."""
        return _changed(lambda: patch_campaign(database, org, campaign_id, body))

    def _changed(change: Any) -> CampaignOut:
        try:
            return found(change())
        except CampaignInvalid as exc:
            raise _invalid(exc) from None
        except CampaignNameTaken as exc:
            raise ApiError(409, str(exc)) from None

    @api.delete("/campaigns/{campaign_id}", status_code=204, tags=["campaigns"],
                responses={404: {"model": Problems}})
    def delete(org: Org, campaign_id: str) -> Response:
        """Delete a campaign."""
        if not delete_campaign(database, org, campaign_id):
            raise ApiError(404, _NOT_FOUND)
        return Response(status_code=204)

    return api


async def _bounded_body(request: Request) -> bytes:
    """The request body, refused (413) past :data:`MAX_BODY_BYTES` without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
