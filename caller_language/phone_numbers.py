"""Phone numbers as the project stores and dials them: E.164."""

from __future__ import annotations

import phonenumbers


def e164(raw: str) -> str:
    """``raw`` as an E.164 number; ValueError if it is not a valid phone number."""
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number in +E.164 form ({exc})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
