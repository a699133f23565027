"""Spoken e-mail capture: every spoken form, the NATO read-back, round trips, and the CLI."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.cli import main
from caller_language import email
from caller_language.email import (
    EmailNotUnderstood,
    check_address,
    nato_readback,
    parse_spoken_email,
)
from caller_language.spelling import DIGIT_WORDS, DOMAIN_WORDS, NATO_BY_LETTER


def refusal(transcript: str) -> str:
    with pytest.raises(EmailNotUnderstood) as caught:
        parse_spoken_email(transcript)
    return caught.value.reason


# --- the forms a recogniser prints ------------------------------------------------------------


@pytest.mark.parametrize(
    "said",
    [
        "john at example dot com",
        "john @ example . com",
        "john@example.com",
        "john@example dot com",
        "john at example.com",
        "john at the rate example dot com",
        "john at sign example period com",
        "JOHN AT EXAMPLE DOT COM",
        "John At Example Dot Com",
    ],
)
def test_at_and_dot_in_every_spoken_and_written_form(said: str) -> None:
    assert parse_spoken_email(said) == "john@example.com"


@pytest.mark.parametrize(
    ("said", "address"),
    [
        ("john underscore smith at example dot com", "john_smith@example.com"),
        ("john dash smith at example dot com", "john-smith@example.com"),
        ("john hyphen smith at example dot com", "john-smith@example.com"),
        ("john minus smith at example dot com", "john-smith@example.com"),
        ("john plus news at example dot com", "john+news@example.com"),
        ("john dot smith at example dot com", "john.smith@example.com"),
        ("john_smith@example.com", "john_smith@example.com"),
        ("john+news@example.com", "john+news@example.com"),
    ],
)
def test_symbols_are_said_by_name_or_written(said: str, address: str) -> None:
    assert parse_spoken_email(said) == address


def test_spelled_letters_are_joined() -> None:
    assert parse_spoken_email("j o h n at example dot com") == "john@example.com"


def test_a_word_followed_by_spelled_letters_is_one_user_name() -> None:
    assert parse_spoken_email("john s m i t h at example dot com") == "johnsmith@example.com"


@pytest.mark.parametrize(
    "said",
    [
        "j as in juliet o as in oscar h as in hotel n as in november at example dot com",
        "J as in Juliet, O, H, N at example dot com",
        "juliet oscar hotel november at example dot com",
        "j for juliet o h n at example dot com",
        "jay oh aitch en at example dot com",
        "j-o-h-n at example dot com",
        "J. O. H. N. at example dot com.",
    ],
)
def test_spelling_with_nato_words_as_in_and_letter_names(said: str) -> None:
    assert parse_spoken_email(said) == "john@example.com"


def test_a_run_of_nato_words_spells() -> None:
    assert parse_spoken_email("kilo echo november at example dot com") == "ken@example.com"


def test_as_in_with_an_everyday_word_takes_its_first_letter() -> None:
    assert parse_spoken_email("b as in boy o b as in boy at example dot com") == "bob@example.com"


def test_the_word_after_as_in_wins_over_a_misheard_letter() -> None:
    # Recognisers confuse b/d/p/t; the caller's clarifying word is what they meant.
    assert parse_spoken_email("d as in boy o b at example dot com") == "bob@example.com"


def test_for_only_spells_when_the_word_starts_with_the_letter() -> None:
    assert parse_spoken_email("j for juliet at example dot com") == "j@example.com"
    assert parse_spoken_email("pay for work at example dot com") == "payforwork@example.com"


def test_a_lone_nato_word_is_a_name_not_a_letter() -> None:
    assert parse_spoken_email("mike at example dot com") == "mike@example.com"
    assert parse_spoken_email("victor dot hugo at example dot com") == "victor.hugo@example.com"
    assert parse_spoken_email("oscar at hotel dot com") == "oscar@hotel.com"


def test_two_nato_words_in_a_row_are_spelling() -> None:
    assert parse_spoken_email("victor oscar at example dot com") == "vo@example.com"


def test_a_lone_letter_name_is_a_name() -> None:
    assert parse_spoken_email("jay smith at example dot com") == "jaysmith@example.com"


@pytest.mark.parametrize(
    ("said", "address"),
    [
        ("ma double t at example dot com", "matt@example.com"),
        ("triple x at example dot com", "xxx@example.com"),
        ("double t as in tango at example dot com", "tt@example.com"),
        ("double u at example dot com", "w@example.com"),
        ("capital j o h n at example dot com", "john@example.com"),
        ("uppercase j lower case o h n at example dot com", "john@example.com"),
        ("the letter a at example dot com", "a@example.com"),
        ("capital mike at example dot com", "m@example.com"),
        ("double seven at example dot com", "77@example.com"),
        ("agent double oh seven at example dot com", "agent007@example.com"),
    ],
)
def test_double_triple_capital_and_the_letter(said: str, address: str) -> None:
    assert parse_spoken_email(said) == address


@pytest.mark.parametrize(
    ("said", "address"),
    [
        ("john one two three at example dot com", "john123@example.com"),
        ("john 123 at example dot com", "john123@example.com"),
        ("john123 at example dot com", "john123@example.com"),
        ("john twenty three at example dot com", "john23@example.com"),
        ("john twenty-three at example dot com", "john23@example.com"),
        ("john nineteen eighty five at example dot com", "john1985@example.com"),
        ("john two thousand and five at example dot com", "john2005@example.com"),
        ("john one hundred and one at example dot com", "john101@example.com"),
        ("john one oh one at example dot com", "john101@example.com"),
        ("john zero seven at example dot com", "john07@example.com"),
        ("john twenty at example dot com", "john20@example.com"),
    ],
)
def test_digits_spoken_or_written(said: str, address: str) -> None:
    assert parse_spoken_email(said) == address


@pytest.mark.parametrize(
    "said",
    [
        "my email is john at example dot com",
        "my e-mail address is john at example dot com",
        "it's john at example dot com",
        "uh, it's, um, john at example dot com",
        "sure, that's john at example dot com, thanks",
        "yeah so my email is john at example dot com that's it",
        "you can reach me at john at example dot com thank you",
        "john at example dot com please",
        "it's john all one word at example dot com",
    ],
)
def test_lead_ins_fillers_and_tails_are_dropped(said: str) -> None:
    assert parse_spoken_email(said) == "john@example.com"


def test_talk_before_a_mid_sentence_lead_in_is_dropped() -> None:
    said = "my name is John and my email is john dot smith at example dot com"
    assert parse_spoken_email(said) == "john.smith@example.com"
    said = "i think it's j o h n at example dot com"
    assert parse_spoken_email(said) == "john@example.com"


def test_a_one_word_lead_in_right_before_at_is_the_user_name() -> None:
    assert parse_spoken_email("email at example dot com") == "email@example.com"
    assert parse_spoken_email("my email is email at example dot com") == "email@example.com"


def test_multi_part_domains() -> None:
    assert (
        parse_spoken_email("john at sub dot domain dot example dot co dot uk")
        == "john@sub.domain.example.co.uk"
    )


def test_a_misspelled_domain_is_never_corrected() -> None:
    assert parse_spoken_email("john at gmial dot com") == "john@gmial.com"
    assert parse_spoken_email("john at g mail dot con") == "john@gmail.con"


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "reason"),
    [
        ("", email.NOTHING_HEARD),
        ("uh um thanks", email.NOTHING_HEARD),
        ("john example dot com", email.NO_AT),
        ("at example dot com", email.NO_USER),
        ("my email is at example dot com", email.NO_USER),
        ("john at", email.NO_DOMAIN),
        ("john at gmail", email.DOMAIN_NO_DOT),
        ("john at example dot com or jane at example dot com", email.MORE_THAN_ONE),
        ("john at at example dot com", email.AT_TWICE),
        ("john at dot com", email.DOMAIN_DOT_AT_EDGE),
        ("john at example dot dot com", email.DOMAIN_DOUBLE_DOT),
        ("john at example dot c", email.DOMAIN_BAD_ENDING),
        ("john at example dot one two three", email.DOMAIN_BAD_ENDING),
        ("john at dash example dot com", email.DOMAIN_DASH_AT_EDGE),
        ("john at ex underscore ample dot com", email.DOMAIN_BAD_CHARACTER),
        ("dot john at example dot com", email.USER_DOT_AT_EDGE),
        ("john dot dot smith at example dot com", email.USER_DOUBLE_DOT),
        ("josé at example dot com", email.USER_BAD_CHARACTER),
        ("john double at example dot com", email.REPEAT_WITHOUT_LETTER),
        ("as in juliet at example dot com", email.AS_IN_WITHOUT_LETTER),
        ("j as in", email.AS_IN_WITHOUT_WORD),
        ("a" * 65 + " at example dot com", email.TOO_LONG),
    ],
)
def test_anything_but_one_address_is_refused_with_a_reason(said: str, reason: str) -> None:
    assert refusal(said) == reason


def test_the_refusal_message_shows_what_was_heard() -> None:
    with pytest.raises(EmailNotUnderstood, match=r"the domain has no dot \(heard 'gmail'\)"):
        parse_spoken_email("john at gmail")


def test_a_refusal_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_spoken_email("john")


# --- read-back ----------------------------------------------------------------------------------


def test_readback_spells_the_user_name_and_says_domain_words() -> None:
    assert nato_readback("john@example.com") == (
        "J as in Juliet, O as in Oscar, H as in Hotel, N as in November, at example dot com"
    )


def test_readback_says_digits_and_symbols_by_name() -> None:
    assert nato_readback("j.s_1-2+x@example.com") == (
        "J as in Juliet, dot, S as in Sierra, underscore, one, dash, two, plus, X as in X-ray, "
        "at example dot com"
    )


def test_readback_spells_unknown_and_consonant_only_domain_labels() -> None:
    assert nato_readback("a@gmx.net") == (
        "A as in Alpha, at G as in Golf, M as in Mike, X as in X-ray, dot net"
    )
    assert nato_readback("a@gmial.com") == (
        "A as in Alpha, at G as in Golf, M as in Mike, I as in India, A as in Alpha, "
        "L as in Lima, dot com"
    )


def test_readback_says_country_codes_as_capitals_and_dashed_words_as_words() -> None:
    assert nato_readback("a@blue-water.co.uk").endswith("at blue dash water dot co dot UK")
    assert nato_readback("a@t-mobile.com").endswith("at T as in Tango, dash, mobile, dot com")


def test_readback_says_two_known_words_run_together_as_two_words() -> None:
    assert nato_readback("a@bluewater.com").endswith("at blue water dot com")


def test_readback_lower_cases_and_refuses_what_is_not_an_address() -> None:
    assert nato_readback("John@Example.COM") == nato_readback("john@example.com")
    with pytest.raises(EmailNotUnderstood):
        nato_readback("john")


def test_every_nato_word_spells_its_letter() -> None:
    for letter, word in NATO_BY_LETTER.items():
        assert parse_spoken_email(f"{letter} as in {word} at example dot com")[0] == letter


def test_domain_words_have_no_other_meaning_to_the_parser() -> None:
    assert not DOMAIN_WORDS & email.RESERVED_WORDS
    for word in sorted(DOMAIN_WORDS):
        address = f"a@{word}.{word}.com"
        assert parse_spoken_email(nato_readback(address)) == address


# --- properties ---------------------------------------------------------------------------------

_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_runs = st.text(_ALNUM, min_size=1, max_size=8)


@st.composite
def local_parts(draw: st.DrawFn) -> str:
    """Letters and digits with single . _ + - between runs, as real mailboxes are."""
    runs = draw(st.lists(_runs, min_size=1, max_size=4))
    separators = draw(st.lists(st.sampled_from("._+-"), min_size=len(runs), max_size=len(runs)))
    local = runs[0] + "".join(sep + run for sep, run in zip(separators, runs[1:], strict=False))
    return local[:64].rstrip(".")


_known_word = st.sampled_from(sorted(DOMAIN_WORDS))
_labels = st.one_of(
    st.lists(_runs, min_size=1, max_size=3).map("-".join),  # letters, digits, inner dashes
    _known_word,
    st.tuples(_known_word, _known_word).map("".join),
    st.tuples(_known_word, _known_word).map("-".join),
)
_endings = st.one_of(st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=6), _known_word)
addresses = st.builds(
    lambda local, labels, ending: f"{local}@{'.'.join([*labels, ending])}",
    local_parts(),
    st.lists(_labels, min_size=1, max_size=3),
    _endings.filter(str.isalpha),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(addresses)
@example("john@example.com")
@example("x@x-ray.io")
@example("oh1@one.two.com")
def test_readback_round_trips_through_the_parser(address: str) -> None:
    assert parse_spoken_email(nato_readback(address)) == address


_VOCABULARY = sorted(
    set(
        """
        at dot as in for and the letter double triple capital small oh x ray x-ray e-mail
        twenty three hundred thousand one zero nine juliet kilo jay bee plus dash underscore
        my email is its thanks that's it uh um all one word rate sign john gmail com example
        @ . _ + - , ? 1 23 j k a é @gmail.com john.smith a-b-c dotcom
        """.split()
    )
)


@settings(max_examples=400)
@given(st.one_of(st.text(), st.lists(st.sampled_from(_VOCABULARY), max_size=14).map(" ".join)))
def test_any_text_gives_a_valid_address_or_a_reason(transcript: str) -> None:
    try:
        address = parse_spoken_email(transcript)
    except EmailNotUnderstood as refused:
        assert refused.reason
        return
    assert check_address(address) == address
    assert parse_spoken_email(nato_readback(address)) == address


_SAID_SYMBOL = {
    ".": ["dot", "period", "point", "."],
    "_": ["underscore", "under score", "_"],
    "-": ["dash", "hyphen", "minus"],
    "+": ["plus", "plus sign", "+"],
}


@st.composite
def said_character(draw: st.DrawFn, character: str) -> str:
    """One character of an address in one of the ways a caller says or a recogniser prints it."""
    if character.isdigit():
        return draw(st.sampled_from([DIGIT_WORDS[int(character)], character]))
    if character in _SAID_SYMBOL:
        return draw(st.sampled_from(_SAID_SYMBOL[character]))
    nato = NATO_BY_LETTER[character]
    return draw(
        st.sampled_from(
            [
                character,
                f"{character} as in {nato}",
                f"{character} for {nato}",
                f"capital {character}",
                f"the letter {character}",
                f"{character} as in {nato}".upper(),
            ]
        )
    )


@st.composite
def said_addresses(draw: st.DrawFn) -> tuple[str, str]:
    """A valid address and one way a caller might say it, fillers and all."""
    address = draw(addresses)
    local, domain = address.split("@")
    words = [draw(said_character(character)) for character in local]
    words.append(draw(st.sampled_from(["at", "at the rate", "at sign", "@"])))
    for index, label in enumerate(domain.split(".")):
        if index:
            words.append(draw(st.sampled_from(["dot", "period", "."])))
        if label in DOMAIN_WORDS and draw(st.booleans()):
            words.append(label)
        else:
            words.extend(draw(said_character(character)) for character in label)
    lead_in = draw(st.sampled_from(["", "my email is", "uh it's", "sure,", "yeah so"]))
    tail = draw(st.sampled_from(["", "thanks", "that's it", "thank you."]))
    return address, " ".join([lead_in, *words, tail])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(said_addresses())
def test_any_mix_of_spoken_forms_gives_the_address(said: tuple[str, str]) -> None:
    address, transcript = said
    assert parse_spoken_email(transcript) == address


# --- command line -------------------------------------------------------------------------------


def test_say_email_prints_the_address_and_its_readback(capsys: pytest.CaptureFixture) -> None:
    assert main(["say", "email", "john at example dot com"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "john@example.com",
        "J as in Juliet, O as in Oscar, H as in Hotel, N as in November, at example dot com",
    ]


def test_say_email_takes_unquoted_words(capsys: pytest.CaptureFixture) -> None:
    assert main(["say", "email", "j", "o", "h", "n", "at", "example", "dot", "com"]) == 0
    assert capsys.readouterr().out.startswith("john@example.com\n")


def test_say_email_refuses_with_the_reason_on_stderr(capsys: pytest.CaptureFixture) -> None:
    assert main(["say", "email", "john at gmail"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "the domain has no dot (heard 'gmail')\n"
