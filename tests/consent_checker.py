"""Replays a finished call and lists every consent violation in it.

Independent of ``agent/consent.py`` on purpose: it reads only the transcript (what was said and
heard), the tool-call records (with ``transcript_lines``, how much had been said when each
ran), the bookings at the end, and the label each caller line was drawn with. Its rules:

* a successful ``confirm_email``: an agent line, said since the address became the one
  confirmed, said its NATO read-back, and the latest caller line is a yes that answers that
  very line (a yes that also names a day, "yes thats right wednesday at 3", is one);
* a successful ``book_slot`` / ``reschedule_booking``: the agent line just before the latest
  caller line said the slot's words (as a tool listed them), and that caller line is a yes
  (to that one slot only; a yes that names a day, labelled ``affirm <day>``, only to a slot on
  that day) or picks that slot by its place;
* a successful ``cancel_booking``: the latest caller line asks to cancel;
* every one of these acts on a caller line said after everything the agent said, and no caller
  line consents to two of them;
* every booking at the end comes from such a call; the agent never says parser internals.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from caller_language.email import nato_readback

CONSENTED = ("confirm_email", "book_slot", "reschedule_booking", "cancel_booking")
INTERNALS = ("heard '", "no 'at'", "EmailNotUnderstood", "Traceback", "reason=")
# Tags of the violations agent/consent.py lets through today (see the report): a yes to
# something other than the address's read-back confirms the address; "no dont cancel it"
# cancels; "the second one works" after a single offer (or a read-back) is taken as a yes.
READBACK_UNANSWERED = "[yes not to the read-back] "
CANCEL_ON_NO = "[cancel on a no] "
PICK_NOT_SAID = "[pick of a place not said] "
_PICKS = {"pick_first": 0, "pick_second": 1, "pick_last": -1}


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9@]+", " ", text.lower()).strip()


def _slot_words(tool_calls: list[dict[str, Any]]) -> list[dict[str, str]]:
    """For each tool call, the words each slot id had in the latest listing up to it."""
    known: dict[str, str] = {}
    out = []
    for call in tool_calls:
        for slot in call["result"].get("slots") or []:
            known[slot["slot_id"]] = slot["time"]
        out.append(dict(known))
    return out


def violations(
    transcript: list[dict[str, str]], tool_calls: list[dict[str, Any]],
    bookings: list[dict[str, Any]], label: Callable[[str], str], today: str | None = None,
) -> list[str]:
    """Every consent violation in one call, each as a readable sentence.

    ``today`` is the call's weekday ("tuesday"): what "today" and "tomorrow" in the slots'
    words mean, for a yes that names its day.
    """
    found: list[str] = []
    used: dict[int, str] = {}
    known_at = _slot_words(tool_calls)
    captured: str | None = None
    captured_at = 0
    successes: Counter[str] = Counter()
    for number, call in enumerate(tool_calls):
        name, result, upto = call["name"], call["result"], call["transcript_lines"]
        if name == "capture_email" and result.get("ok") and result.get("email") != captured:
            # The address changed: only a read-back said from here on is of this address.
            captured, captured_at = result.get("email"), upto
        if name not in CONSENTED or not result.get("ok"):
            continue
        successes[name] += 1
        where = f"call #{number} {name}({call['arguments']})"
        said = transcript[:upto]
        callers = [i for i, e in enumerate(said) if e["role"] == "caller"]
        if not callers:
            found.append(f"{where}: no caller line at all")
            continue
        answer = callers[-1]
        kind = label(said[answer]["text"])
        if any(e["role"] == "agent" for e in said[answer + 1:]):
            found.append(f"{where}: the agent spoke after the caller's last line")
        if answer in used:
            found.append(f"{where}: caller line {answer} already consented to {used[answer]}")
        used[answer] = name
        prompt = said[_prompt_of(said, answer)]["text"] if _prompt_of(said, answer) >= 0 else ""
        if name == "confirm_email":
            found += _email(where, said, answer, kind, captured, captured_at, result)
        elif name == "cancel_booking":
            if kind != "cancel":
                found.append(f"{CANCEL_ON_NO}{where}: cancelled on {kind!r} line "
                             f"{said[answer]['text']!r}")
        else:
            found += _slot(where, call["arguments"].get("slot_id", ""), known_at[number],
                           prompt, kind, today)
    found += _bookings(bookings, successes)
    for entry in transcript:
        if entry["role"] == "agent" and any(word in entry["text"] for word in INTERNALS):
            found.append(f"parser internals said: {entry['text']!r}")
    return found


def _email(where: str, said: list[dict[str, str]], answer: int, kind: str,
           captured: str | None, captured_at: int, result: dict[str, Any]) -> list[str]:
    if captured is None:
        return [f"{where}: confirmed with no address captured"]
    if result.get("email") != captured:
        return [f"{where}: confirmed {result.get('email')!r}, not the captured {captured!r}"]
    readback = _squash(nato_readback(captured))
    read = [i for i in range(captured_at, answer)
            if said[i]["role"] == "agent" and readback in _squash(said[i]["text"])]
    if not read:
        return [f"{READBACK_UNANSWERED}{where}: the read-back of {captured!r} was not said "
                "since it was captured"]
    if kind.partition(" ")[0] != "affirm":
        # "the second one works" to a read-back: a pick of nothing said, read as a yes.
        tag = PICK_NOT_SAID if kind in _PICKS else ""
        return [f"{tag}{where}: confirmed on {kind!r} line {said[answer]['text']!r}"]
    if read[-1] != _prompt_of(said, answer):
        return [f"{READBACK_UNANSWERED}{where}: the yes answered "
                f"{said[_prompt_of(said, answer)]['text']!r}, not the read-back"]
    return []


def _prompt_of(said: list[dict[str, str]], answer: int) -> int:
    return next((i for i in range(answer - 1, -1, -1) if said[i]["role"] == "agent"), -1)


def _slot(where: str, slot_id: str, known: dict[str, str], prompt: str, kind: str,
          today: str | None) -> list[str]:
    words = known.get(slot_id)
    if words is None:
        return [f"{where}: {slot_id!r} was never listed by a tool"]
    text = _squash(prompt)
    in_prompt = sorted((text.find(_squash(t)), i) for i, t in known.items()
                       if _squash(t) in text)
    order = [i for _, i in in_prompt]
    if slot_id not in order:
        return [f"{where}: {words!r} not said in the line answered: {prompt!r}"]
    yes, _, day = kind.partition(" ")
    if yes == "affirm":
        if day and day not in _weekdays(words, today):
            return [f"{where}: a yes to {day} booked {words!r}"]
        return [] if len(order) == 1 else [f"{where}: a yes to several times: {prompt!r}"]
    if kind in _PICKS:
        index = _PICKS[kind]
        if index >= len(order) or order[index] != slot_id:
            return [f"{PICK_NOT_SAID}{where}: {kind} does not pick {slot_id} in {prompt!r}"]
        return []
    return [f"{where}: booked on a {kind!r} line"]


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekdays(words: str, today: str | None) -> str:
    """A slot's words with "today" and "tomorrow" said as the weekdays they are."""
    words = words.lower()
    if today is None:
        return words
    at = _WEEKDAYS.index(today)
    return words.replace("today", today).replace("tomorrow", _WEEKDAYS[(at + 1) % 7])


def _bookings(bookings: list[dict[str, Any]], successes: Counter[str]) -> list[str]:
    found = []
    if len(bookings) > successes["book_slot"]:
        found.append(f"{len(bookings)} bookings from {successes['book_slot']} book_slot")
    statuses = Counter(b["status"] for b in bookings)
    if statuses["moved"] and not successes["reschedule_booking"]:
        found.append("a booking was moved without a consented reschedule_booking")
    if statuses["cancelled"] > successes["cancel_booking"]:
        found.append("a booking was cancelled without a consented cancel_booking")
    return found


def replay(transcript: list[dict[str, str]], tool_calls: list[dict[str, Any]]) -> str:
    """The call as text: its lines, each tool call (and whether it went through) where it ran."""
    lines = []
    tools = iter(tool_calls)
    call = next(tools, None)
    for index, entry in enumerate([*transcript, None]):
        while call is not None and call["transcript_lines"] <= index:
            lines.append(f"    [{call['name']}({call['arguments']}) -> ok={call['result']['ok']}]")
            call = next(tools, None)
        if entry is not None:
            lines.append(f"  {entry['role']}: {entry['text']}")
    return "\n".join(lines)
