"""Outlook calendars through Microsoft Graph: sign-in, connections, the Graph client, the adapter.

Other code needs only :func:`calendar_backend.outlook.connections.open_calendar` and
:func:`calendar_backend.outlook.connections.connection_usable`.
"""
