"""The campaign form of the console: a campaign document to form fields and back.

The form holds every booking setting; fields it does not show (FAQ, caller hours, templates)
are kept from the campaign being edited. Values are passed on as typed (numbers as text):
the campaign model validates them, and its problems come back by field path, shown beside
the field they name.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from app.operators.campaigns import merge_patch

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MEETING_TYPES = ("video", "phone", "in_person")
POOL = "pool"  # the calendar-owner choice that books round-robin on the members ticked
# (form field, document path, label, input type)
TEXT_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("name", "name", "Campaign name", "text"),
    ("business_name", "business_name", "Business name", "text"),
    ("agent_name", "agent_name", "Agent's name", "text"),
    ("purpose", "purpose", "Why the agent calls", "text"),
)
BOOKING_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("meeting_length_minutes", "booking.meeting_length_minutes", "Meeting length (minutes)",
     "number"),
    ("timezone", "booking.availability.timezone", "Calendar owner's time zone (IANA)", "text"),
    ("start", "booking.availability.start", "Day starts (HH:MM)", "time"),
    ("end", "booking.availability.end", "Day ends (HH:MM)", "time"),
    ("buffer_before_minutes", "booking.buffer_before_minutes", "Buffer before (minutes)",
     "number"),
    ("buffer_after_minutes", "booking.buffer_after_minutes", "Buffer after (minutes)", "number"),
    ("minimum_notice_minutes", "booking.minimum_notice_minutes", "Minimum notice (minutes)",
     "number"),
    ("look_ahead_days", "booking.look_ahead_days", "Look ahead (days)", "number"),
    ("slot_step_minutes", "booking.slot_step_minutes", "Slot step (minutes, blank: length)",
     "number"),
    ("address", "booking.address", "Address (in-person meetings)", "text"),
)


def _get(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _put(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        document = document.setdefault(part, {})
    document[last] = value


def form_values(document: dict[str, Any]) -> dict[str, Any]:
    """The form's fields filled from a stored campaign document."""
    values: dict[str, Any] = {}
    for field, path, _, _ in TEXT_FIELDS + BOOKING_FIELDS:
        value = _get(document, path)
        values[field] = "" if value is None else str(value)[:5] if field in ("start", "end") \
            else str(value)
    for lines in ("talking_points", "phone_numbers"):
        values[lines] = "\n".join(_get(document, lines) or [])
    values["enabled"] = bool(_get(document, "booking.enabled"))
    values["days"] = _get(document, "booking.availability.days") or list(WEEKDAYS[:5])
    values["meeting_type"] = _get(document, "booking.meeting_type") or "video"
    values["calendar"] = _get(document, "booking.calendar") or "local"
    pool = _get(document, "booking.pool") or []
    if pool:
        values["calendar"] = POOL
    # Pool members by calendar reference: {"member:<id>": "Adele"}.
    values["pool"] = {m.get("calendar"): m.get("name", "") for m in pool if isinstance(m, dict)}
    values["say_member_name"] = bool(_get(document, "booking.say_member_name"))
    return values


def document_from_form(form: FormData, current: dict[str, Any] | None) -> dict[str, Any]:
    """The campaign document the submitted form asks for (on top of ``current``)."""
    changes: dict[str, Any] = {}
    for field, path, _, kind in TEXT_FIELDS + BOOKING_FIELDS:
        raw = str(form.get(field, "")).strip()
        if not raw:
            value: Any = None  # blank: the default (a merge patch's null removes the field)
        elif kind == "number":
            value = int(raw) if raw.lstrip("-").isdigit() else raw
        else:
            value = raw
        _put(changes, path, value)
    for lines in ("talking_points", "phone_numbers"):
        given = [p.strip() for p in str(form.get(lines, "")).splitlines() if p.strip()]
        changes[lines] = given or None
    _put(changes, "booking.enabled", form.get("enabled") == "on")
    _put(changes, "booking.availability.days", [d for d in form.getlist("days")
                                                if isinstance(d, str)])
    _put(changes, "booking.meeting_type", str(form.get("meeting_type", "video")))
    # The calendar owner: the organisation's own calendar, a member's (member:<id>), or a
    # round-robin pool of the members ticked, each with the name the agent may say.
    calendar = str(form.get("calendar", "")).strip()
    _put(changes, "booking.calendar", None if calendar in ("", "local", POOL) else calendar)
    pool = [{"name": str(form.get(f"pool_name:{ref}", "")).strip(), "calendar": ref}
            for ref in form.getlist("pool") if isinstance(ref, str)] if calendar == POOL else []
    # A pool replaces the list whole (a merge patch would merge nothing into a list anyway);
    # [] when the pool is chosen with nobody ticked, so the model says it needs a member.
    _put(changes, "booking.pool", pool if calendar == POOL else None)
    _put(changes, "booking.say_member_name", form.get("say_member_name") == "on" or None)
    return merge_patch(current or {}, changes)
