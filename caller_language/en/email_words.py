"""English words of spoken e-mail addresses and of corrections to a read-back."""

from __future__ import annotations

from caller_language.word_tables import EmailWords

# fmt: off
_LEAD_INS = (
    "my email address is", "my email is", "my address is", "my email", "the email address is",
    "the email is", "the address is", "email address is", "email is", "email address",
    "email", "its", "it is", "thats", "that is", "that would be", "thatd be", "it would be",
    "itd be", "you can reach me at", "reach me at", "you can email me at", "email me at",
    "you can send it to", "send it to", "send the invite to", "sure", "yes", "yeah", "yep",
    "ok", "okay", "so", "well", "oh", "right", "alright", "of course", "no", "sorry",
    "actually", "i said",
)

EMAIL_WORDS = EmailWords(
    symbol_words={
        ("at", "the", "rate", "of"): "@", ("at", "the", "rate"): "@", ("at", "sign"): "@",
        ("at", "symbol"): "@", ("at",): "@", ("dot",): ".", ("period",): ".", ("point",): ".",
        ("full", "stop"): ".", ("underscore",): "_", ("under", "score"): "_", ("underbar",): "_",
        ("under", "bar"): "_", ("dash",): "-", ("hyphen",): "-", ("minus",): "-", ("plus",): "+",
        ("plus", "sign"): "+",
    },
    spoken_symbols={"@": "at", ".": "dot", "_": "underscore", "-": "dash", "+": "plus"},
    # Phrases that stand for one other token.
    phrases={
        ("double", "u"): "w", ("double", "you"): "w", ("double-u",): "w", ("x", "ray"): "xray",
        ("upper", "case"): "uppercase", ("lower", "case"): "lowercase",
        ("the", "letter"): "letter",
    },
    hyphenated=frozenset({"x-ray", "double-u"}),
    # Words before a letter that say how it is written; they force a NATO word or name to a
    # letter.
    case_words=frozenset({"capital", "small", "big", "uppercase", "lowercase", "letter"}),
    repeats={"double": 2, "triple": 3},
    spelling_glue=frozenset({"as", "in", "for", "and"}),
    fillers=frozenset({"uh", "um", "umm", "uhm", "er", "erm", "ah", "hmm", "mm", "mhm"}),
    filler_phrases=(
        ("all", "one", "word"), ("as", "one", "word"), ("all", "lower", "case"),
        ("all", "lowercase"), ("all", "small", "letters"), ("no", "spaces"),
    ),
    lead_ins=_LEAD_INS,
    # Lead-ins that also mark where the address starts mid-sentence ("... and my email is ...").
    markers=(*(p for p in _LEAD_INS if " " in p and p != "of course"), "its", "thats"),
    tails=(
        "thanks", "thank you", "thanks a lot", "thank you very much", "thats it", "that is it",
        "thats all", "thats right", "please", "cheers", "bye", "did you get that", "got it",
        "okay", "ok",
    ),
    # Domain labels said as words in a read-back. Anything else is spelled. None of these may be
    # a word the parser gives another meaning (tested), and each has a vowel: a consonant-only
    # label is spelled even if it is a brand ("gmx", "msn").
    domain_words=frozenset(
        """
        gmail googlemail google yahoo ymail rocketmail outlook hotmail live icloud me mac aol proton
        protonmail zoho yandex mail inbox fastmail tutanota tuta hey comcast verizon cox charter
        earthlink juno netzero optonline frontier windstream centurylink bellsouth shaw rogers telus
        sympatico bigpond optusnet virgin virginmedia sky talktalk orange free laposte wanadoo web
        online telstra xtra btinternet example company business office corp group team global tech
        digital solutions services consulting design studio media labs lab health law bank school
        university college academy institute foundation agency partners ventures holdings industries
        systems software network networks data cloud app apps dev email hello contact info support
        sales admin news shop store home family house world international national city county state
        gov edu mil com net org biz co uk io us ca au de fr nl es ie eu ai about acme air alliance
        america american apple art arts auto avenue bay beach best better blue board book books box
        brand bridge bright build builders care career cars center centre central church civic clean
        clear click client club coast code coffee collective community connect core council country
        craft creative credit crew daily deal dental direct district doctor dream drive earth east
        easy eco edge education electric energy engineering enterprise enterprises equity events
        expert express factory farm fast field film finance financial first fitness flow food forest
        forward fresh friends front fund future game games garden gold good great green grid growth
        guide harbor harbour heart help hill hub idea ideas image impact industry insight insurance
        investments jobs journal key kids king lake land launch learn legal life light line link
        local logic loop love main maker management market marketing medical metro mind mobile money
        motion mountain move music nation nature new next north ocean open orbit organic park
        partner path pay peak people pixel place planet plan pro project property pulse quest radio
        real realty record research resource resources river road rock root royal safe science
        secure security service signal simple smart social solar solution sound source south space
        spark sport sports spring square star start station stone strategy street summit sun supply
        talent tax teach technology technologies test time today tool tools top tour town trade
        training travel tree true trust union unit united urban valley venture vision voice water
        wave way wealth west wild wind wise wood work works yoga zone
        """.split()
    ),
    # Labels said as capital letters ("dot co dot UK") so a text-to-speech voice spells them.
    initialisms=frozenset(
        {"uk", "io", "us", "ca", "au", "de", "fr", "nl", "es", "ie", "eu", "ai", "edu"}
    ),
    # Openings of a correction; stripping one is itself a sign that a correction follows.
    repair_lead_ins=(
        "no", "nope", "not quite", "nearly", "almost", "close", "sorry", "actually", "oh", "well",
        "so", "wait", "but", "yeah", "yes", "ok", "okay", "right", "i said", "i meant", "i mean",
        "it should be", "that should be", "should be", "its actually", "its", "it is", "thats",
        "that is", "thats wrong", "thats not right", "not right", "wrong", "its spelled",
        "its spelt", "thats spelled", "you have", "you got", "make that", "my email is",
        "my email address is", "my address is",
    ),
    hold_talk=(
        "hold on", "hang on", "one moment", "one sec", "one second", "just a second",
        "just a moment", "give me a second", "let me check", "let me see", "wait", "sorry",
        "what", "pardon", "say that again", "can you repeat that",
    ),
    local_openings=(
        "the first part is", "first part is", "the first part", "the first bit is",
        "the user name is", "user name is", "the username is", "username is", "the name part is",
        "the part before the at is", "the bit before the at is", "before the at its",
        "before the at is", "before the at it is", "before the at",
    ),
    domain_openings=(
        "the domain is", "domain is", "the domain name is", "the domain", "the second part is",
        "second part is", "the part after the at is", "the bit after the at is",
        "after the at its", "after the at is", "after the at it is", "after the at",
    ),
    ending_openings=(
        "it ends in", "it ends with", "ends in", "ends with", "the ending is", "the end is",
        "the end bit is", "the extension is",
    ),
    remove_openings=(
        "theres no", "there is no", "there isnt a", "there isnt an", "there isnt any",
        "there shouldnt be a", "there shouldnt be an", "drop the", "drop", "remove the", "remove",
        "take out the", "take the", "delete the", "lose the", "get rid of the", "without the",
        "without an", "without a", "no need for the",
    ),
    undouble_openings=(
        "theres only one", "there is only one", "only one", "just one", "its only one", "one",
        "a single", "single", "not double", "not two",
    ),
    insert_openings=(
        "you missed the", "you missed an", "you missed a", "you forgot the", "you forgot an",
        "you forgot a", "you left out the", "you left out an", "you left out a",
        "you dropped the", "its missing an", "its missing a", "its missing the", "missing an",
        "missing a", "missing the", "add an", "add a", "add the", "put an", "put a", "insert an",
        "insert a", "it needs an", "it needs a", "theres an", "theres a", "there is an",
        "there is a", "theres also an", "theres also a", "also an", "also a", "an", "a",
    ),
    joints=(("not",), ("instead", "of"), ("rather", "than")),  # "X not Y"
    part_is=("its", "is", "it is", "should be"),
    correction_is=("its", "but", "it is", "but its"),
    has=("with", "theres", "there are", "it has", "its got"),
    letter_is=("is", "should be", "is actually"),
    double_words=frozenset({"double", "two", "2"}),
    last="last",
    articles=frozenset({"a", "an", "the", "letter", "capital", "small", "one"}),
    place_verbs=frozenset({"comes", "goes", "is", "should", "go", "be", "come"}),
    connectors=frozenset({"at", "dot", "underscore", "dash", "plus", "double", "triple"}),
    separator_words=frozenset({"dot", "underscore", "dash", "plus"}),
    # A fragment opening like this is the caller starting over, not continuing.
    restarts=(
        "no", "sorry", "actually", "my email is", "my email address is", "my address is",
        "the email is", "email is", "its", "it is", "let me start again", "start again",
    ),
    # Tie-breaker only, for a letter the caller names without saying where ("you missed the h").
    common_names=frozenset(
        """
        john jonathan stephen steven sarah ann anne anna hannah philip phillip michael matthew
        thomas christopher catherine katherine kathryn elizabeth deborah rebecca rachel joseph
        joanne jennifer jessica emily emma olivia sophia sophie isabella charlotte amelia grace lucy
        chloe daniel david james robert william richard charles mark paul peter andrew anthony kevin
        brian bryan george edward henry jack harry oliver noah liam ethan alexander benjamin samuel
        nicholas nathan adam aaron simon graham neil niall sean shaun mohammed muhammad ahmed omar
        fatima aisha priya maria jose carlos luis juan claire clare louise laura helen ellen smith
        johnson williams brown jones miller davis wilson taylor anderson jackson white harris martin
        thompson clark clarke lewis robinson walker young allen wright scott green baker adams
        nelson hill campbell mitchell roberts carter phillips evans turner parker collins edwards
        stewart morris murphy cook rogers morgan cooper peterson reed bailey kelly howard ward
        richardson watson brooks wood bennett gray grey hughes price sanders myers ross foster
        """.split()
    ),
)
# fmt: on
