"""Google Calendar push notifications, received by the call server at a public URL.

``POST /google/notifications`` carries no body: the ``X-Goog-*`` headers name the channel,
its token and what happened (``sync`` when a channel opens, ``exists`` on a change). The
notification is checked (it must name the channel we hold, its resource and its token; a
forged one changes nothing), the sync it asks for starts in the background, and Google gets
its 200 at once.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import ValidationError

from calendar_backend.google.channels import PushHeaders
from calendar_backend.google.follow import NotificationReceiver

log = logging.getLogger(__name__)

NOTIFICATIONS_PATH = "/google/notifications"


def notifications_router(receiver: NotificationReceiver) -> APIRouter:
    """The route Google notifies; ``receiver`` checks the notification and syncs."""
    router = APIRouter()

    @router.post(NOTIFICATIONS_PATH)
    async def notifications(request: Request) -> Response:
        try:
            headers = PushHeaders.model_validate(dict(request.headers))
        except ValidationError:
            log.warning("refused a malformed Google push notification")
            return PlainTextResponse("malformed notification", status_code=400)
        receiver.receive(headers)
        # Forged or not, the sender learns nothing from the answer.
        return Response(status_code=200)

    return router
