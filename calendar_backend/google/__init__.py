"""Google calendars through Calendar API v3: sign-in, connections, the API client, the adapter.

Other code needs only :func:`calendar_backend.google.connections.open_calendar` and
:func:`calendar_backend.google.connections.connection_usable`.
"""
