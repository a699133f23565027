"""Finding an event's meeting join link (Teams, Zoom, Google Meet, Webex): pure functions.

The provider's own field (Graph's ``onlineMeeting.joinUrl``) wins; otherwise the first
recognised link in the location, then in the body (plain text or HTML, where links hide in
``href`` attributes and ``&amp;`` escapes). A link is recognised by its host and path, never
by the words around it, so a "Zoom" in a subject or a look-alike host (``zoom.us.evil.test``)
is not a meeting link.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Provider = Literal["teams", "zoom", "meet", "webex"]

# Candidate URLs: stop at whitespace, quotes and angle brackets (HTML attribute ends).
_URL = re.compile(r"https?://[^\s\"'<>\\]+", re.IGNORECASE)
# Punctuation that ends a sentence rather than the URL.
_TRAILING = ".,;:!?)]}'\""
_MAX_TEXT = 200_000  # a body past this is cut: a link after it is not worth the time


@dataclass(frozen=True)
class MeetingLink:
    """A join link and whose meeting it is."""

    url: str
    provider: Provider


def _provider(url: str) -> Provider | None:
    """Whose meeting ``url`` joins, or ``None`` for any other URL."""
    try:
        parts = urlsplit(url)
        port = parts.port  # noqa: F841  (a malformed port makes the URL unusable)
    except ValueError:
        return None
    if parts.scheme.lower() != "https":
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    path = parts.path
    if host in ("teams.microsoft.com", "teams.live.com", "gov.teams.microsoft.us") and (
            path.startswith("/l/meetup-join/") or path.startswith("/meet/")):
        return "teams"
    if (_within(host, "zoom.us") or _within(host, "zoomgov.com")) and re.match(
            r"/(j|my|w|s|wc/join)/[^/]+", path):
        return "zoom"
    if host == "meet.google.com" and re.fullmatch(r"/[a-z]{3}-[a-z]{4}-[a-z]{3}/?", path):
        return "meet"
    if _within(host, "webex.com") and host != "webex.com" and (
            re.match(r"/(meet|join)/[^/]+", path)
            or re.match(r"/[^/]+/j\.php$", path) or path.startswith("/wbxmjs/joinservice/")):
        return "webex"
    return None


def _within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def links_in(text: str | None) -> list[MeetingLink]:
    """Every recognised meeting link in ``text`` (plain or HTML), in order of appearance."""
    if not text:
        return []
    found = []
    for match in _URL.finditer(text[:_MAX_TEXT]):
        url = html.unescape(match.group(0)).rstrip(_TRAILING)
        provider = _provider(url)
        if provider is not None:
            found.append(MeetingLink(url, provider))
    return found


def join_link(online_meeting_url: str | None, location: str | None = None,
              body: str | None = None) -> MeetingLink | None:
    """The event's join link: its online meeting's own URL, else the first meeting link in
    its location, else in its body; ``None`` when it has none."""
    if online_meeting_url:
        own = links_in(online_meeting_url)
        if own:
            return own[0]
    for text in (location, body):
        found = links_in(text)
        if found:
            return found[0]
    return None
