"""A local Microsoft Graph + identity platform emulator for tests and the test-call harness.

It is a real HTTP server on 127.0.0.1 (uvicorn + FastAPI in a background thread). The product
reaches it only through its two settings::

    BOOKING_AGENT_GRAPH_BASE_URL=http://127.0.0.1:<port>/v1.0
    BOOKING_AGENT_MICROSOFT_LOGIN_URL=http://127.0.0.1:<port>

Graph (``/v1.0``): ``/me``, ``/me/mailboxSettings``, ``/me/calendars[/{id}]``, ``/me/calendar``,
calendarView (default and per calendar; ``$top``/``$skip`` paging with an absolute
``@odata.nextLink``, ``$select``, ``Prefer: outlook.timezone``), events POST/GET/PATCH/DELETE and
``/cancel``. Event bodies are checked against Graph's event schema (unknown properties and bad
enum values answer 400 ``RequestBodyRead``); ``transactionId`` de-duplicates (an identical retry
gets the existing event, a different body ``ErrorDuplicateTransactionId``); a Teams request on a
personal account is silently dropped. Errors use Graph's envelope with ``innerError``; injected
faults (429/503/504 with ``Retry-After``, lost responses, latency) and a ``MailboxConcurrency``
429 above 4 requests in flight per mailbox. A request a client sends to a mailbox
inside a ``Retry-After`` window it has read is recorded (``early_retries()``).

Following changes (``tests.fakes.microsoft.changes``): ``calendarView/delta`` with
``$skiptoken``/``$deltatoken`` links, ``Prefer: odata.maxpagesize`` and 410
``syncStateNotFound`` once a test expires the tokens; ``/subscriptions`` (POST with the
``validationToken`` handshake, GET, PATCH, DELETE) and change notifications POSTed to the
app when events change. Tests change events "as the owner" (``owner_deletes``,
``owner_moves``, ``owner_cancels``, ``owner_edits``, ``attendee_responds``), block
notifications, send lifecycle or forged notifications and read what was delivered.

Identity platform: ``/{tenant}/v2.0/.well-known/openid-configuration``, the authorize redirect
(code + state, or ``form_post``), the token endpoint (single-use codes, PKCE S256, refresh grants,
``client_info`` and an unsigned ``id_token`` echoing the nonce) and knobs for AADSTS failures
(700082, 50173, 65001, 50076, ...). The endpoints it advertises name the real public host
(MSAL insists on https); clients map that host to the configured login URL.

In tests (``tests.fakes.microsoft.fixtures`` has ``emulator`` and ``ms_settings`` fixtures)::

    emulator = MicrosoftEmulator().start()
    emulator.add_account("adele@contoso.com")                # work account, Teams allowed
    emulator.add_account("julie@outlook.com", personal=True)
    ...
    emulator.requests("graph", method="POST")                # the request log
    emulator.stop()

Alone (for the test-call harness or by hand)::

    python -m tests.fakes.microsoft --port 8400 [--account adele@contoso.com]
                                               [--personal-account julie@outlook.com]

prints the two settings to export, the client id and secret to configure, and serves until
interrupted.
"""

from tests.fakes.microsoft.server import FaultPlan, MicrosoftEmulator
from tests.fakes.microsoft.state import PERSONAL_TENANT

__all__ = ["PERSONAL_TENANT", "FaultPlan", "MicrosoftEmulator"]
