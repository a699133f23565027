"""Calendars: the slot engine, the provider port and its adapters, and booking."""
