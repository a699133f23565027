"""A local Google Calendar API v3 + Google OAuth 2.0 emulator for tests and the test-call harness.

It is a real HTTP server on 127.0.0.1 (uvicorn + FastAPI in a background thread). The product
reaches it only through its four settings::

    BOOKING_AGENT_GOOGLE_CALENDAR_BASE_URL=http://127.0.0.1:<port>/calendar/v3
    BOOKING_AGENT_GOOGLE_AUTH_URL=http://127.0.0.1:<port>/o/oauth2/v2/auth
    BOOKING_AGENT_GOOGLE_TOKEN_URL=http://127.0.0.1:<port>/token
    BOOKING_AGENT_GOOGLE_REVOKE_URL=http://127.0.0.1:<port>/revoke

Calendar v3 (``/calendar/v3``): ``users/me/calendarList[/{id}]`` (paged), ``freeBusy``
(transparent, cancelled and declined events leave the owner free; busy periods merged and
clipped), events ``insert`` / ``get`` / ``patch`` / ``delete`` under ``calendars/{id}``.
Bodies are validated with pydantic (unknown fields refused as Google refuses them); client ids
must be base32hex, 5-1024 long, and a second insert of an id answers 409 ``duplicate`` (deleted
events keep their ids); ``conferenceData.createRequest`` with ``conferenceDataVersion=1``
creates a Google Meet conference (entry points and ``hangoutLink``; "pending" on request);
``sendUpdates`` is recorded per write. Incremental sync: the last page of an unordered
``events.list`` carries ``nextSyncToken``; with ``syncToken`` it lists what changed since
(deleted events as ``status: "cancelled"``), paged with ``nextPageToken``, and an expired
token answers 410 ``fullSyncRequired`` (``expire_sync_tokens()``). Push: ``events/watch``
makes a web_hook channel that POSTs ``X-Goog-Channel-ID`` / ``-Token`` / ``-Resource-State``
(``sync`` first, then ``exists``) / ``-Resource-ID`` / ``-Message-Number`` to its address on
every change (``block_notifications()`` stops them); ``channels/stop`` ends one. Owner-side
changes from a test: ``owner_deletes``, ``owner_moves``, ``attendee_declines``.
Errors use Google's envelope
``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}], "status"}}``.
Scopes are checked per method (403 ``insufficientPermissions``). Faults: 429 and 403
``rateLimitExceeded`` / ``userRateLimitExceeded``, 500/503 ``backendError``, and lost answers
(processed, then the connection drops mid-response), random (seeded) or scripted.

OAuth: the authorization page (``access_type=offline``, PKCE S256 or plain, ``login_hint``,
``include_granted_scopes``, consent denied or scopes withheld on request), the token endpoint
(single-use codes, ``client_secret_basic`` or ``_post``, refresh grants that keep the refresh
token, ``invalid_grant`` "Token has been expired or revoked." once the owner revoked access),
and ``/revoke``.

In tests (``tests.fakes.google.fixtures`` has ``google`` and ``google_settings`` fixtures)::

    emulator = GoogleEmulator().start()
    emulator.add_account("grace@gmail.com", time_zone="America/New_York")
    emulator.revoke_grant("grace@gmail.com")
    emulator.requests("calendar", method="POST")           # the request log
    emulator.stop()

Alone: ``python -m tests.fakes.google --port 8500 [--account grace@gmail.com]`` prints the
settings to export and serves until interrupted.
"""

from tests.fakes.google.server import GoogleEmulator
from tests.fakes.google.state import FaultPlan

__all__ = ["FaultPlan", "GoogleEmulator"]
