"""Repairing a read-back address from the caller's correction, and an address said across turns."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from caller_language import email
from caller_language.email import (
    EmailNotUnderstood,
    EmailRepair,
    NotUnderstoodReason,
    RepairKind,
    check_address,
    is_partial_email,
    join_spoken_email,
    parse_spoken_email,
    repair_email,
)
from caller_language.spelling import DOMAIN_WORDS
from tests.test_email import addresses, said_addresses

LETTER, DOUBLE, LOCAL = RepairKind.LETTER, RepairKind.DOUBLE, RepairKind.LOCAL
DOMAIN, ENDING, WHOLE = RepairKind.DOMAIN, RepairKind.ENDING, RepairKind.WHOLE
JON = "jon.smith@gmail.com"

# (held, what the caller said, the corrected address, kind, the part to re-read)
CORRECTIONS: list[tuple[str, str, str, RepairKind, str]] = [
    # --- a letter inserted ---
    (JON, "no its j o h n", "john.smith@gmail.com", LETTER, "john.smith"),
    (JON, "no its j as in juliet o h n", "john.smith@gmail.com", LETTER, "john.smith"),
    (JON, "its john with an h", "john.smith@gmail.com", LETTER, "john.smith"),
    (JON, "um no its john with an h thanks", "john.smith@gmail.com", LETTER, "john.smith"),
    (JON, "theres an h after the o", "john.smith@gmail.com", LETTER, "john.smith"),
    (JON, "you missed the h", "john.smith@gmail.com", LETTER, "john.smith"),
    (JON, "the h comes before the n", "john.smith@gmail.com", LETTER, "john.smith"),
    (JON, "put an h between the o and the n", "john.smith@gmail.com", LETTER, "john.smith"),
    (JON, "no its john", "john.smith@gmail.com", LETTER, "john.smith"),
    (JON, "no its john dot smith", "john.smith@gmail.com", LETTER, "john.smith"),
    ("sara@example.com", "theres an h at the end", "sarah@example.com", LETTER, "sarah"),
    ("sara@example.com", "you forgot the h", "sarah@example.com", LETTER, "sarah"),
    ("micael@example.com", "you missed the h", "michael@example.com", LETTER, "michael"),
    ("catherne@example.com", "theres an i after the r", "catherine@example.com", LETTER,
     "catherine"),
    ("jon@gmal.com", "gmail with an i", "jon@gmail.com", LETTER, "gmail"),
    # --- a letter replaced ---
    (JON, "its smyth with a y not an i", "jon.smyth@gmail.com", LETTER, "jon.smyth"),
    (JON, "not an i its a y", "jon.smyth@gmail.com", LETTER, "jon.smyth"),
    (JON, "smyth not smith", "jon.smyth@gmail.com", LETTER, "jon.smyth"),
    ("kin@example.com", "m not n", "kim@example.com", LETTER, "kim"),
    ("kin@example.com", "no its m not n", "kim@example.com", LETTER, "kim"),
    ("kin@example.com", "the last letter is an m", "kim@example.com", LETTER, "kim"),
    ("kin@example.com", "m as in mike not n", "kim@example.com", LETTER, "kim"),
    ("kin@example.com", "last letter should be m", "kim@example.com", LETTER, "kim"),
    ("dob@example.com", "b as in bravo not d", "bob@example.com", LETTER, "bob"),
    ("cate.jones@example.com", "its a k not a c", "kate.jones@example.com", LETTER, "kate.jones"),
    ("cate.jones@example.com", "k as in kilo not c", "kate.jones@example.com", LETTER,
     "kate.jones"),
    ("cate.jones@example.com", "the first letter is a k", "kate.jones@example.com", LETTER,
     "kate.jones"),
    ("cate.jones@example.com", "its a k instead of a c", "kate.jones@example.com", LETTER,
     "kate.jones"),
    # a /k/ "ch" (before a consonant) is the c the caller means: the pair becomes k
    ("chris@example.com", "no its with a k not a c", "kris@example.com", LETTER, "kris"),
    ("christine.lee@example.com", "not a c its a k", "kristine.lee@example.com", LETTER,
     "kristine.lee"),
    ("chloe@example.com", "k as in kilo not c", "kloe@example.com", LETTER, "kloe"),
    ("bryan.lee@example.com", "its brian with an i", "brian.lee@example.com", LETTER,
     "brian.lee"),
    ("aly@example.com", "no it ends with an i", "ali@example.com", LETTER, "ali"),
    ("mary.jonez@example.com", "s not z", "mary.jones@example.com", LETTER, "mary.jones"),
    ("mary.jonez@example.com", "its s for sierra not z", "mary.jones@example.com", LETTER,
     "mary.jones"),
    # --- a letter removed ---
    ("john.smith@gmail.com", "its jon not john", JON, LETTER, "jon.smith"),
    ("anne.smith@example.com", "theres no e", "ann.smith@example.com", LETTER, "ann.smith"),
    ("johne@example.com", "drop the e", "john@example.com", LETTER, "john"),
    ("jhon@example.com", "uh drop the h", "jon@example.com", LETTER, "jon"),
    ("johne@example.com", "there shouldnt be an e", "john@example.com", LETTER, "john"),
    ("jon.smitth@gmail.com", "theres only one t", JON, LETTER, "jon.smith"),
    ("phillip@gmail.com", "just one l", "philip@gmail.com", LETTER, "philip"),
    ("johnn@example.com", "no only one n", "john@example.com", LETTER, "john"),
    # --- a letter doubled ---
    ("philip@gmail.com", "double l", "phillip@gmail.com", DOUBLE, "phillip"),
    ("philip@gmail.com", "two ls", "phillip@gmail.com", DOUBLE, "phillip"),
    ("philip@gmail.com", "theres two ls", "phillip@gmail.com", DOUBLE, "phillip"),
    ("philip@gmail.com", "double l as in lima", "phillip@gmail.com", DOUBLE, "phillip"),
    ("mat@example.com", "its double t", "matt@example.com", DOUBLE, "matt"),
    ("mat@example.com", "with two ts", "matt@example.com", DOUBLE, "matt"),
    ("mat.jones@example.com", "its matt with two ts", "matt.jones@example.com", DOUBLE,
     "matt.jones"),
    (JON, "its smith with two ts", "jon.smitth@gmail.com", DOUBLE, "jon.smitth"),
    ("an.lee@example.com", "its ann with two ns", "ann.lee@example.com", DOUBLE, "ann.lee"),
    ("mathew.lee@example.com", "double t", "matthew.lee@example.com", DOUBLE, "matthew.lee"),
    ("jenifer@example.com", "two ns", "jennifer@example.com", DOUBLE, "jennifer"),
    # --- the domain given again ---
    (JON, "its at outlook dot com", "jon.smith@outlook.com", DOMAIN, "outlook.com"),
    (JON, "the domain is yahoo dot com", "jon.smith@yahoo.com", DOMAIN, "yahoo.com"),
    (JON, "no at hotmail", "jon.smith@hotmail.com", DOMAIN, "hotmail.com"),
    (JON, "after the at its outlook dot com", "jon.smith@outlook.com", DOMAIN, "outlook.com"),
    (JON, "no no at yahoo dot co dot uk", "jon.smith@yahoo.co.uk", DOMAIN, "yahoo.co.uk"),
    (JON, "its outlook not gmail", "jon.smith@outlook.com", DOMAIN, "outlook.com"),
    (JON, "at hotmail dot com not gmail", "jon.smith@hotmail.com", DOMAIN, "hotmail.com"),
    ("jon@gmial.com", "gmail not gmial", "jon@gmail.com", DOMAIN, "gmail.com"),
    ("jon.smith@gmial.com", "no its g m a i l", JON, DOMAIN, "gmail.com"),
    ("jon.smith@gmial.com", "the domain is g mail dot com", JON, DOMAIN, "gmail.com"),
    ("jane.doe@exampel.com", "example not exampel", "jane.doe@example.com", DOMAIN,
     "example.com"),
    ("jon@hotmial.com", "its hotmail", "jon@hotmail.com", DOMAIN, "hotmail.com"),
    ("jon@example.co.uk", "no at hotmail", "jon@hotmail.co.uk", DOMAIN, "hotmail.co.uk"),
    ("jsmith@gmail.com", "no its outlook dot com", "jsmith@outlook.com", DOMAIN, "outlook.com"),
    # --- only the ending ---
    (JON, "dot org not dot com", "jon.smith@gmail.org", ENDING, "gmail.org"),
    (JON, "its dot co dot uk", "jon.smith@gmail.co.uk", ENDING, "gmail.co.uk"),
    (JON, "ends in dot net", "jon.smith@gmail.net", ENDING, "gmail.net"),
    ("jane@example.co.uk", "its dot com", "jane@example.com", ENDING, "example.com"),
    ("jane@example.co.uk", "dot com not dot co dot uk", "jane@example.com", ENDING,
     "example.com"),
    ("jane@example.org", "it ends in dot net", "jane@example.net", ENDING, "example.net"),
    ("jane@example.com", "not dot com its dot io", "jane@example.io", ENDING, "example.io"),
    ("jane@example.com", "dot org instead of dot com", "jane@example.org", ENDING, "example.org"),
    # --- the user name given again ---
    (JON, "the first part is jane dot doe", "jane.doe@gmail.com", LOCAL, "jane.doe"),
    (JON, "before the at its jdoe", "jdoe@gmail.com", LOCAL, "jdoe"),
    (JON, "the user name is j smith", "jsmith@gmail.com", LOCAL, "jsmith"),
    (JON, "jane dot doe before the at", "jane.doe@gmail.com", LOCAL, "jane.doe"),
    ("jsmith@gmail.com", "no its john underscore smith", "john_smith@gmail.com", LOCAL,
     "john_smith"),
    ("peta@example.com", "its peter not peta", "peter@example.com", LOCAL, "peter"),
    # --- a whole new address ---
    (JON, "no its jane at example dot com", "jane@example.com", WHOLE, "jane@example.com"),
    (JON, "actually its j doe at example dot org", "jdoe@example.org", WHOLE, "jdoe@example.org"),
    (JON, "sorry my email is jane dot doe at outlook dot com", "jane.doe@outlook.com", WHOLE,
     "jane.doe@outlook.com"),
    (JON, "jane@example.com", "jane@example.com", WHOLE, "jane@example.com"),
]  # fmt: skip


@pytest.mark.parametrize(("held", "said", "address", "kind", "changed"), CORRECTIONS)
def test_a_correction_repairs_the_held_address(
    held: str, said: str, address: str, kind: RepairKind, changed: str
) -> None:
    assert repair_email(held, said) == EmailRepair(address, kind, changed)


def test_the_table_has_every_kind_of_correction() -> None:
    assert len(CORRECTIONS) >= 60
    assert {case[3] for case in CORRECTIONS} == set(RepairKind)


@pytest.mark.parametrize(
    ("held", "said"),
    [
        (JON, "yes thats right"),
        (JON, "um"),
        (JON, "hold on"),
        (JON, "thats it"),
        (JON, "yes"),
        (JON, "perfect thanks"),
        (JON, "no"),
        (JON, "no thats wrong"),
        (JON, "can you repeat that"),
        (JON, "hmm let me think"),
        (JON, ""),
        (JON, "no its john dot smith at"),  # half an address is not a correction
        (JON, "its jon not john"),  # already so
        (JON, "no its gmail"),  # already so
        (JON, "its john with an x"),  # the word does not hold the letter said
        (JON, "theres no z"),  # no z to drop
        ("nan.lee@example.com", "m not n"),  # two ns: which one?
        ("eve.lee@example.com", "drop the e"),  # four es
        ("tate.smith@example.com", "two ts"),  # three single ts
        ("ross.smith@example.com", "double s"),  # ross already has one: maybe a confirmation
        ("jon.lee@example.com", "you missed the x"),  # nowhere it makes a name
        ("jon.smith@gmail.com", "double l"),  # only in gmail, a known word: never misspelled
    ],
)
def test_what_is_not_an_applicable_correction_gives_none(held: str, said: str) -> None:
    assert repair_email(held, said) is None


@pytest.mark.parametrize(
    ("held", "said", "address"),
    [
        ("chad@example.com", "its a k not a c", "khad@example.com"),  # "ch" before a vowel
        ("zach@example.com", "k not c", "zakh@example.com"),  # "ch" ends the part
        ("cate@example.com", "its a k not a c", "kate@example.com"),  # no "ch" at all
        ("chris@example.com", "s not c", "shris@example.com"),  # another letter than k
        ("chris@example.com", "the first letter is a k", "khris@example.com"),  # no "not c"
    ],
)
def test_a_k_for_a_c_replaces_only_the_c_unless_it_begins_a_k_sounding_ch(
    held: str, said: str, address: str
) -> None:
    repair = repair_email(held, said)
    assert repair is not None and repair.address == address


def test_a_restatement_of_a_named_part_is_a_repair_with_nothing_changed() -> None:
    assert repair_email(JON, "its at gmail dot com") == EmailRepair(JON, DOMAIN, "gmail.com")


def test_with_an_unusable_held_address_only_a_whole_address_repairs() -> None:
    assert repair_email("jon.smith", "double l") is None
    assert repair_email("jon.smith", "jane at example dot com") == EmailRepair(
        "jane@example.com", WHOLE, "jane@example.com"
    )


# --- properties ---------------------------------------------------------------------------------

_CORRECTION_WORDS = sorted(
    set(
        """
        no its not with a an the double two ls ts one only theres drop after before between and
        first last letter is at dot com org co uk net domain part user name missed h o n i y m
        as in hotel bravo for smith john jon gmail outlook underscore @ . _ - + é 1 twenty
        instead of ends end beginning start comes goes you forgot um uh thanks
        """.split()
    )
)
_spoken_corrections = st.one_of(
    st.text(), st.lists(st.sampled_from(_CORRECTION_WORDS), max_size=10).map(" ".join)
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(addresses, st.sampled_from([JON, "a@b.co", "x"]), st.text()), _spoken_corrections)
@example(JON, "between the and")
@example(JON, "double")
@example("a@b.co", "the last letter is")
def test_a_repair_never_raises_and_is_always_a_valid_address(held: str, said: str) -> None:
    repair = repair_email(held, said)
    if repair is not None:
        assert check_address(repair.address) == repair.address
        assert repair.changed
        assert repair.changed in repair.address


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(addresses | st.sampled_from(["chris@example.com", "zach.chloe@chrome.com"]),
       st.sampled_from(string.ascii_lowercase), st.sampled_from(string.ascii_lowercase))
@example("chris@example.com", "k", "c")
def test_a_letter_for_a_letter_changes_one_part_and_never_lengthens_it(
    held: str, new: str, old: str
) -> None:
    repair = repair_email(held, f"{new} not {old}")
    if repair is None:
        return
    (local, domain), (was_local, was_domain) = repair.address.split("@"), held.split("@")
    # One part changes, the ending never; the only shorter result is a /k/ "ch" become k.
    assert (local == was_local) != (domain == was_domain)
    assert domain.rsplit(".", 1)[1] == was_domain.rsplit(".", 1)[1]
    assert len(repair.address) - len(held) in ((0, -1) if (new, old) == ("k", "c") else (0,))
    assert len(repair.address) == len(held) or "ch" in held


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(addresses, said_addresses())
def test_a_whole_address_said_again_replaces_the_held_one(held: str, said: tuple[str, str]) -> None:
    address, transcript = said
    assert repair_email(held, transcript) == EmailRepair(address, WHOLE, address)


# Words said whole in an address and nothing else: no lead-in, talk or reserved words.
_SIMPLE_WORDS = sorted(
    word
    for word in DOMAIN_WORDS
    if len(word) > 2 and word not in {"email", "mail", "me", "hello", "help", "right", "well"}
)
_word = st.sampled_from(_SIMPLE_WORDS)


@st.composite
def simple_spoken_addresses(draw: st.DrawFn) -> tuple[str, list[str]]:
    """An address made of whole words, and the words a caller says for it."""
    local_words = draw(st.lists(_word, min_size=1, max_size=3))
    separators = draw(
        st.lists(st.sampled_from(["dot", "underscore", "dash"]), min_size=2, max_size=2)
    )
    said = [local_words[0]]
    for separator, word in zip(separators, local_words[1:], strict=False):
        said += [separator, word]
    said.append("at")
    for label in draw(st.lists(_word, min_size=1, max_size=2)):
        said += [label, "dot"]
    said += draw(st.sampled_from([["com"], ["org"], ["co", "dot", "uk"]]))
    return parse_spoken_email(" ".join(said)), said


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(simple_spoken_addresses(), st.data())
def test_an_address_split_over_two_turns_is_joined(
    spoken: tuple[str, list[str]], data: st.DataObject
) -> None:
    address, words = spoken
    cut = data.draw(st.integers(min_value=1, max_value=len(words) - 1))
    first, second = " ".join(words[:cut]), " ".join(words[cut:])
    assert join_spoken_email([first, second]) == address


# --- across turns -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragments", "address"),
    [
        (["its john dot smith", "at gmail dot com"], "john.smith@gmail.com"),
        (["my email is", "j doe at example dot com"], "jdoe@example.com"),
        (["john at gmail", "dot com"], "john@gmail.com"),
        (["john", "smith at example dot com"], "johnsmith@example.com"),
        (["um my email is john dot", "smith at example dot com"], "john.smith@example.com"),
        # spelling the word just said spells it, it does not repeat it
        (["john smith", "s m i t h at example dot com"], "johnsmith@example.com"),
        # a fresh complete address wins over what came before
        (["jon at gmial", "no its john at gmail dot com"], "john@gmail.com"),
        (["john", "no its jane at example dot com"], "jane@example.com"),
        (["jane at example dot com", "john", "at gmail dot com"], "john@gmail.com"),
        (["hello", "its john", "at gmail dot com"], "john@gmail.com"),
        (["jane at example dot com"], "jane@example.com"),
    ],
)
def test_an_address_said_across_turns_is_joined(fragments: list[str], address: str) -> None:
    assert join_spoken_email(fragments) == address


def test_joining_nothing_usable_refuses_with_a_reason() -> None:
    with pytest.raises(EmailNotUnderstood) as caught:
        join_spoken_email(["hold on", "um"])
    assert caught.value.reason is NotUnderstoodReason.NO_AT
    with pytest.raises(EmailNotUnderstood) as caught:
        join_spoken_email([])
    assert caught.value.reason is NotUnderstoodReason.NOTHING_HEARD


@pytest.mark.parametrize(
    "said",
    [
        "john dot smith",
        "my email is john dot smith",
        "its john dot",
        "j o h n",
        "john smith",
        "at gmail dot com",
        "john at",
        "john at gmail",
        "uh its j as in juliet o h n at",
    ],
)
def test_half_an_address_is_partial(said: str) -> None:
    assert is_partial_email(said)


@pytest.mark.parametrize(
    "said",
    [
        "john at gmail dot com",
        "",
        "um",
        "yes",
        "hold on",
        "what",
        "can you repeat that",
        "i dont know",
        "my email is",
        "at",
        "john at at gmail",
    ],
)
def test_a_whole_address_or_talk_is_not_partial(said: str) -> None:
    assert not is_partial_email(said)


# --- refusal reasons ------------------------------------------------------------------------------


def test_a_refusal_carries_a_reason_to_choose_a_prompt_and_a_message_for_logs() -> None:
    with pytest.raises(EmailNotUnderstood) as caught:
        parse_spoken_email("john at gmail")
    refused = caught.value
    assert refused.reason is NotUnderstoodReason.DOMAIN_NO_DOT
    assert refused.reason.name == "DOMAIN_NO_DOT"
    assert refused.reason == email.DOMAIN_NO_DOT == "the domain has no dot"
    assert str(refused) == "the domain has no dot (heard 'gmail')"


@settings(max_examples=200)
@given(st.text())
def test_every_refusal_reason_is_a_member_of_the_enum(transcript: str) -> None:
    try:
        parse_spoken_email(transcript)
    except EmailNotUnderstood as refused:
        assert isinstance(refused.reason, NotUnderstoodReason)
