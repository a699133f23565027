"""Meeting join links read from an event: the provider's field, else the location, else the body."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from calendar_backend.meeting_links import MeetingLink, join_link, links_in

TEAMS = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%7d"
ZOOM = "https://us02web.zoom.us/j/85012345678?pwd=QWERTY"
MEET = "https://meet.google.com/abc-defg-hij"
WEBEX = "https://acme.webex.com/acme/j.php?MTID=m0123456789abcdef"
LINKS = {"teams": TEAMS, "zoom": ZOOM, "meet": MEET, "webex": WEBEX}

# Text around a link: anything that cannot run into the URL itself.
noise = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80).map(
    lambda t: t.replace("http", "htp"))
separators = st.sampled_from([" ", "\n", "<", ">", '"', "'", "\t"])


def test_the_online_meeting_field_wins_over_the_location_and_body() -> None:
    link = join_link(TEAMS, location=ZOOM, body=f"Join: {MEET}")
    assert link == MeetingLink(TEAMS, "teams")


def test_the_location_comes_before_the_body() -> None:
    assert join_link(None, location=f"Zoom: {ZOOM}", body=MEET) == MeetingLink(ZOOM, "zoom")


def test_an_html_body_gives_its_link_unescaped() -> None:
    body = f'<p>Join <a href="{html.escape(WEBEX)}">the meeting</a>.</p>'
    assert join_link(None, None, body) == MeetingLink(WEBEX, "webex")


def test_look_alike_hosts_and_other_urls_are_not_meeting_links() -> None:
    for text in ("https://zoom.us.evil.test/j/123", "https://notzoom.us/j/1",
                 "http://meet.google.com/abc-defg-hij", "https://meet.google.com/",
                 "https://teams.microsoft.com/", "https://example.org/zoom.us/j/1",
                 "https://webex.com/meet/x", "Zoom call, link to follow"):
        assert join_link(None, text, text) is None, text


@given(kind=st.sampled_from(sorted(LINKS)), before=noise, after=noise,
       left=separators, right=separators, escaped=st.booleans())
def test_a_link_is_found_whatever_text_surrounds_it(kind: str, before: str, after: str,
                                                    left: str, right: str,
                                                    escaped: bool) -> None:
    url = LINKS[kind]
    text = before + left + (html.escape(url) if escaped else url) + right + after
    assert join_link(None, None, text) == MeetingLink(url, kind)  # type: ignore[arg-type]


@given(kind=st.sampled_from(sorted(LINKS)), punctuation=st.sampled_from(list(".,;:!?)")))
def test_sentence_punctuation_after_a_link_is_not_part_of_it(kind: str,
                                                            punctuation: str) -> None:
    url = LINKS[kind]
    assert links_in(f"(see {url}{punctuation})") == [MeetingLink(url, kind)]  # type: ignore[arg-type]


@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=300))
def test_any_text_gives_a_recognised_link_or_none_never_an_error(
        own: str, location: str, body: str) -> None:
    link = join_link(own, location, body)
    if link is not None:
        assert link.url.startswith("https://") and link.provider in LINKS
        assert links_in(link.url) == [link]
