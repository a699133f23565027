"""Microsoft Graph change notifications, received by the call server at a public URL.

``POST /outlook/notifications?validationToken=...`` is Graph's handshake when a subscription
is made: the token is echoed in plain text at once. Any other POST is a batch of change or
lifecycle notifications: it is checked (each must name a subscription we hold, with its
``clientState``; a forged one changes nothing), the syncs it asks for start in the
background, and Graph gets its 202 at once (it wants one within 3 seconds).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import ValidationError

from calendar_backend.outlook.follow import NotificationReceiver
from calendar_backend.outlook.models import NotificationBatch

log = logging.getLogger(__name__)

NOTIFICATIONS_PATH = "/outlook/notifications"
# Graph batches at most a few hundred notifications; anything far larger is not Graph.
MAX_BODY_BYTES = 1_000_000
MAX_TOKEN_CHARS = 4096


def notifications_router(receiver: NotificationReceiver) -> APIRouter:
    """The route Graph notifies; ``receiver`` checks the notifications and syncs."""
    router = APIRouter()

    @router.post(NOTIFICATIONS_PATH)
    async def notifications(request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            if len(token) > MAX_TOKEN_CHARS:
                return PlainTextResponse("validation token too long", status_code=400)
            return PlainTextResponse(token, status_code=200)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse("notification too large", status_code=413)
        try:
            batch = NotificationBatch.model_validate_json(body)
        except ValidationError:
            log.warning("refused a malformed Graph notification")
            return PlainTextResponse("malformed notification", status_code=400)
        receiver.receive(batch)
        # Forged or not, the sender learns nothing from the answer.
        return Response(status_code=202)

    return router
