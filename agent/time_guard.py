"""The LLM's time guard: a clock time the model says must be one the tools gave the caller.

Any rendering counts ("11:00 AM", "eleven", "11 in the morning"), and a weekday or date said
with it must be that slot's day: "Wednesday at 11" for a Thursday slot is an invented time.
A time vouches for itself when it is an offered slot or the meeting booked on this call (in
the owner's zone or the caller's), or a time the caller said themselves ("call me at 3").
"""

from __future__ import annotations

from agent.call_session import CallSession
from caller_language.time_mentions import mention_matches, time_mentions


def unvouched_times(sentence: str, session: CallSession) -> list[str]:
    """The clock times in ``sentence`` that no tool gave this caller (as said)."""
    mentions = time_mentions(sentence)
    if not mentions:
        return []  # most sentences name no time: nothing to look up
    zones = [session.owner_zone, *([session.caller_zone] if session.caller_zone else [])]
    starts = [offer.slot.start for offer in session.offers.values()]
    starts += [booking.slot.start for booking in session.bookings()]
    caller_said = {
        (m.hour % 12, m.minute) for entry in session.transcript if entry["role"] == "caller"
        for m in time_mentions(entry["text"])
    }
    now = session.now()
    return [
        mention.text for mention in mentions
        if not any(mention_matches(mention, start, zones, now) for start in starts)
        and (mention.hour % 12, mention.minute) not in caller_said
    ]
