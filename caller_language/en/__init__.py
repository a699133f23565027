"""English: every word caller_language knows, as a speech recogniser prints it.

:data:`ENGLISH` is the one object the readers take their words from: the turn reader's phrases
(here) and the tables of numbers, letters, e-mail, times, zones and recogniser phrases (one module
each beside this one). Phrases are written after normalising (lower case, no apostrophes:
"thats", "dont", "im"); the syntax is described on :class:`caller_language.turns.Vocabulary`.
"""

from __future__ import annotations

from caller_language.en.alphabet import ALPHABET
from caller_language.en.email_words import EMAIL_WORDS
from caller_language.en.numbers import NUMBERS
from caller_language.en.speech import SPEECH
from caller_language.en.times import TIMES, WEEKDAYS
from caller_language.en.zones import ZONES
from caller_language.turns import Question, Vocabulary

# Word lists stay packed, one concern a line, rather than one word a line.
# fmt: off

_WEEKDAY = f"({'|'.join(WEEKDAYS)})"
_DAY_PART = "(morning|afternoon|evening|night)"
_NUMBER = (
    r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
    "|thirty|forty five|a few|a couple|a couple of|couple of|few|several)"
)
_CLOCK = (
    r"(\d{1,2}( \d{2})?( ?(am|pm|oclock))?"
    "|(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    "( fifteen| thirty| forty five)?( (am|pm|oclock))?|noon|midday|lunch|lunchtime)"
)
# A verb said negatively: "that doesnt work", "monday wont work".
_VERB_NEGATORS = (
    "dont", "do not", "doesnt", "does not", "didnt", "did not", "cant", "cannot", "can not",
    "wont", "will not", "wouldnt", "would not", "couldnt", "could not", "isnt", "is not", "arent",
    "are not", "aint",
)
_PRONOUN = "(you|it|this|that|there|we|i|they|he|she|your|the|my|a|an|these|those|its)"
# "i like it" keeps its "like"; "like" elsewhere is a filler ("its like tuesday").
_LIKE_KEPT_AFTER = (
    "i", "id", "would", "wed", "youd", "we", "you", "they", "dont", "didnt", "do", "sounds",
    "looks", "seems", "feel", "feels", "something", "anything", "just", "really", "also", "more",
    "not", "wouldnt", "might",
)
_LIKE = "(" + "".join(rf"(?<!\b{word} )" for word in _LIKE_KEPT_AFTER) + "like|like$)"

ENGLISH = Vocabulary(
    fillers=(
        "um+", "umm", "uh+(?! huh)", "uhm", "erm?", "ah+", "(?<!mm )(?<!m )hmm+", "mm+(?! hmm)",
        "you know", "i mean", "kind of", "sort of", "basically", "like i said", _LIKE,
    ),
    leading_fillers=(
        "well", "so", "ok so", "okay so", "oh", "and", "anyway", "alright so", "all right so",
        "hey", "look", "listen",
    ),
    affirm=(
        "yes", "yeah", "yea", "yep", "yup", "ya", "yah", "yes yes", "yes please", "aye",
        "uh huh", "mm hmm", "m hmm", "mhm", "mmhmm", "uhhuh",
        "sure", "sure thing", "for sure", "ok", "okay", "k", "okey dokey", "alright", "all right",
        "right", "thats right", "that is right", "correct", "thats correct", "that is correct",
        "exactly", "precisely", "spot on", "bang on", "you got it", "got it", "indeed",
        "affirmative", "absolutely", "definitely", "certainly", "of course", "totally", "you bet",
        "fine", "(thats|its|that is|it is|that sounds|sounds) (fine|good|great|perfect|ok|okay)",
        "fine (by|with) me", "(im|i am|were|we are) (good|fine|ok|okay|happy) with (that|it|this)",
        "good", "great", "perfect", "cool", "awesome", "excellent", "wonderful", "fantastic",
        "lovely", "brilliant", "super", "sweet", "nice", "all good", "good for me",
        "sounds (good|great|perfect|fine|interesting|lovely|like a plan)", "works", "it works",
        "(that|this|it) (works|suits|fits)( for me| me)?", "works for me", "suits me",
        "(that|it|this) (would|will|should) (work|be (fine|good|great|perfect|ok|okay|lovely))",
        "thatll (work|do)", "thatd (work|be (fine|good|great|perfect|ok|okay|lovely))",
        "i can do (that|it|then)", "i can make (that|it)( work)?", "(i|we) could do that",
        "go ahead", "go for it", "please do", "book it", "book (me|that|it) in",
        "lets do (it|that)", "lets go", "do it", "(id|i would|i d) (like|love) (that|to)",
        "sure why not", "why not", "(i )?cant wait",
        "(i )?dont see why not", "(i )?dont mind", "i guess( so)?", "i suppose( so)?",
        "guess so", "suppose so", "probably", "count me in", "(im|i am) in$", "im down",
        "thats the one", "that one",
    ),
    polite=(
        "no problem", "no worries", "not a problem", "no prob", "(thats|its|that is|it is) "
        "(fine|ok|okay|alright|all right|quite all right)", "not bad",
    ),
    acknowledgements=(
        "ok", "okay", "k", "alright", "all right", "right", "fine", "uh huh", "mm hmm", "mhm",
        "(ok|okay|alright|all right) (then|thanks|thank you)",
    ),
    deny=(
        "no", "nope", "nah", "naw", "no no", "negative", "no thanks", "no thank you",
        "not really", "not quite", "not exactly", "not at all", "no way", "no can do",
        "(absolutely|definitely|certainly|of course) not", "wrong", "(thats|thats all) wrong",
        "incorrect", "not (right|correct|good|great|ideal|possible|for me)",
        "(thats|that is|its|it is) not (right|correct|it|good|great|ideal)", "no good",
        "(i )?dont think so", "i dont think", "i guess not", "i suppose not", "guess not",
        "(id|i would|i d) rather not", "rather not", "unfortunately not", "(im )?afraid not",
        "(i|we) (have|got|have got) (a|another) (conflict|meeting|appointment)( then)?",
        "(im|i am|were|we are) (busy|booked|tied up|not free|not available) (then|at that time)",
        "(im|i am|were|we are) not (free|available)", "(i|we) (dont|do not) (want|need)",
        "(close|almost|nearly) but", "almost", "nearly", "close", "ill pass", "pass",
        "not (this|that|the) (one|day|time)", "not (then|that)", f"not (on )?{_WEEKDAY}",
        "not (this|next) (week|month|morning|afternoon|evening)",
    ),
    negators=("not", "never", *_VERB_NEGATORS),
    verb_negators=_VERB_NEGATORS,
    negatable=(
        "work", "works", "working", "suit", "suits", "fit", "fits", "make it", "make that",
        "make", "do it", "do that", "do", "be possible", "possible", "good", "great", "manage",
        "be there", "be available", "available", "free", "going to work", "gonna work",
        "be able to", "agree", "like", "want", "need",
    ),
    neutral=(
        "right (now|away|after|before|there|here|then|about|around|at|on|in)",
        "(the|your|my|that) right",
        "(not|im not|i am not|i m not) sure", "make sure", "(no|not any) (one|idea|preference)",
        "(good|great|nice) (time|question|day|one|to know|point)", "(no|never) mind",
        "no (rush|hurry|longer)", "good enough", "fine print",
    ),
    greeting=(
        "hi", "hello", "hey", "hi there", "hello there", "good (morning|afternoon|evening)",
        "how are you( doing)?( today)?", "hows it going", "how are things", "and you",
        "you too", "same to you", "nice to (meet|hear from) you",
    ),
    small_talk=(
        "(im|i am|were|we are|doing|im doing|i am doing|all) (good|fine|great|ok|okay|well"
        "|alright|all right|not bad|pretty good|very well|really well)",
        "(pretty|very) (good|well)", "cant complain", "not too bad",
    ),
    thats_it=("thats it", "that is it", "yes thats it", "that should be it"),
    closing=(
        "thats all", "that is all", "thats everything", "that is everything", "nothing else",
        "nothing more", "no more questions", "(im|i am|were|we are) (all )?set", "all set",
        "(were|we are) (all )?(good|fine|done)( here)?", "(im|i am) (all )?done", "all done",
        "i think thats it",
        "thats all i need(ed)?", "i think were done", "i think thats all",
    ),
    farewell=(
        "bye", "bye bye", "goodbye", "good bye", "bye now", "have a (good|nice|great|lovely) "
        "(one|day|evening|afternoon|morning|night|weekend|week)", "take care",
        "talk to you (soon|later)", "talk soon", "see (you|ya)( later| then| soon)?",
        "hang up", "(i|ive) (have|got) to go", "gotta go", "got to go", "cheerio",
    ),
    thanks=(
        "thanks", "thank you", "thank you (so|very) much", "thanks (a lot|so much)", "cheers",
        "(i )?appreciate it", "much appreciated", "ta",
    ),
    hold=(
        "hold on", "hang on", "hold up", "hold (please|the line)", "bear with me",
        "(give|gimme|just give) me (a|one|a quick|just a) (sec|second|minute|moment|min|mo)",
        # "i have a minute" / "ive got a second" offer time; they are no request to wait.
        "(?<!have )(?<!got )(just )?(a|one) (sec|second|moment|minute|min|mo)$",
        "one (sec|second|moment)",
        "just a (sec|second|moment|minute|min)",
        "(?<!have )(?<!got )(a|one) (quick )?(sec|second|moment)",
        r"(?<!\bcant )(?<!\bcannot )wait( a (sec|second|minute|moment|min))?"
        "(?! (for|till|until|what|am|are|is|was|do|does|did|can|could|who|how|why|where|when))",
        "let me (just )?(check|see|think|look|get|grab|find|pull|ask|open|go|have a look|take a"
        " look|double check|confirm|write|note|figure)", "lemme (check|see|think|look)",
        "(im|i am) (just )?(checking|looking|pulling|getting|grabbing|writing)",
        "checking (my|the) (calendar|schedule|diary)", "let me think about it",
    ),
    call_back=(
        "call (me |us )?back", "ring (me )?back", "(ill|i will) call you", "try (me )?again",
        "call (me|us) (again )?(later|tomorrow|tonight|next|in|on|this|after|around|at|another"
        "|some|sometime|before|when)", f"call (me|us) (again )?{_WEEKDAY}",
        "(give|gimme) (me|us) a (call|ring)( back)?", "try (me|us|back) (later|tomorrow|another"
        "|next|in|on|this)", "(catch|reach) (me|us) (later|another|tomorrow|next|some)",
        "(talk|chat|speak|do this) (later|another time|some other time|tomorrow|next)",
        "(not|bad|isnt|is not|not really|not exactly) (a )?(good|great|the best|convenient) time",
        "(bad|awkward|inconvenient) time", "now (isnt|is not|is not really) (a )?(good )?time",
        "(im|i am|were|we are) (driving|in a meeting|at work|in the car|on the road|with a "
        "(client|customer|patient)|in the middle of something|about to go)",
        "(im|i am) (busy|driving|working) (right now|at the moment|now)", "(in|driving) my car",
        "(another|some other|a better|a different) time", "maybe (later|another time)",
        "(dont|do not) (really )?have (the |any )?time (right now|now|at the moment|today)",
        "(can|could) (you|we) (do|talk|chat|speak|connect) (this )?later",
    ),
    call_back_when_asked_now=(
        "not (right )?now", "not at the moment", "not today", "(im|i am|were|we are) "
        "(kind of |a bit |pretty |really )?busy", "^(maybe )?later( please)?$",
    ),
    do_not_call=(
        "(dont|do not|never|please dont|please do not) (ever )?(call|contact|phone|ring) "
        "(me|us|this number|here|again)", "stop (calling|contacting|ringing)",
        "quit (calling|contacting)", "take (me|us|my number|this number|my name) off",
        "remove (me|us|my number|this number|my name)", "do not call list", "dont call list",
        "lose (my|this) number", "delete (my|this) number", "no more calls",
        "(dont|do not) want (any )?(more )?(calls|phone calls)",
        "(leave|leave me|leave us) alone",
    ),
    not_interested=(
        "not interested", "(im|i am|were|we are) not interested", "no interest",
        "not (looking|in the market) for", "(we|i) (dont|do not) need (it|this|that|anything|any)",
        "(were|we are|im|i am) (happy|fine|good|covered) with (what|our|my)",
        "(were|we are|im|i am) (already )?covered", "not for us", "no thanks were",
        "(dont|do not) (really )?have time for (this|that|these)",
    ),
    repeat=(
        "^(im )?sorry$", "^sorry what$", "^what$", "^huh$", "^pardon( me)?$", "^excuse me$",
        "wait what", "come again", "say (that|it) again", "say again", "(can|could) you repeat",
        "repeat (that|it|the question)", "one more time", "what (was|is) that( again)?$",
        "what did you (just )?say", "(i )?(didnt|did not|couldnt|could not|cant|cannot) "
        "(catch|hear|get|understand) (that|you|it|what you said)",
        "(read|say) (that|it) (back )?again", "(can|could) you (read|say) (that|it) back",
        "you(re| are)? (breaking|cutting) up", "you (broke|cut) (up|out)", "(cant|cannot) hear you",
        "sorry (i )?(didnt|missed) (catch|that|it)", "i missed that", "^sorry what was that$",
    ),
    hedge=(
        "maybe", "perhaps", "possibly", "(i )?(dont|do not) know", "dunno", "(not|im not) sure",
        "no idea", "hard to say", "well see", "we will see", "i dont know yet", "not sure yet",
    ),
    proposal=(
        "(how|what) about",
        "(can|could|would) (we|you|i) (do|make it|move|push|change|switch|try|go|have|get|book)",
        "(do|would) you have (anything|something|any)", "(is|are) there (any|anything|something)",
        "(anything|something|any time|sometime) (later|earlier|else|sooner|in the|on|next)",
        "(id|i would|i d) (prefer|rather)", "(i|we) (prefer|would prefer)", "(is|would) "
        f"{_WEEKDAY} (work|be|possible|ok|okay)", "what else (do you have|is there)",
        "(maybe|perhaps) (later|earlier|another|something|a different)",
    ),
    contrast=(
        "but", "though", "although", "however", "except", "unless", "only if", "as long as",
        "instead", "rather", "prefer", "better",
    ),
    connectors=(
        "but", "though", "although", "however", "and", "actually", "so", "just", "only", "then",
        "oh", "well", "also", "i mean", "if possible",
    ),
    glue=(
        "oh", "actually", "sorry", "and", "please", "well", "so", "thanks", "thank", "you",
        "cheers", "great", "i", "mean", "yes", "totally",
    ),
    noise=(
        "i", "think", "guess", "the", "a", "an", "oh", "ah", "and", "so", "well", "just", "then",
        "um", "uh", "huh", "like",
        "hmm", "mm", "er", "it", "that", "this", "is", "its", "thats", "me", "okay", "please",
        "there", "here", "really", "very", "too", "yet", "now", "mean", "what",
    ),
    questions={
        # A tag at the end makes a statement a question: "thats the earliest one is it".
        Question.OTHER: (
            "(?<!that )(?<!this )(?<!what )(?<!^)"
            "(is|isnt|was|wasnt|are|arent|does|doesnt|did|didnt|will|wont) (it|that|there|they)$",
        ),
        Question.WHO: (
            "who (is|s) (this|that|calling|speaking|it)", "whos (this|calling|that|speaking)",
            "who are you", "who (am i|is this|are we) (talking|speaking) (to|with)",
            "what company", "which company", "who do you (work for|represent|work with)",
            "where are you calling from", "(whats|what is|what was) your name",
            "who did you say", "who are you with", "where (are|is) (you|this) from",
            "(you|and you) are", "who am i talking to", "^(im )?(sorry )?who$",
        ),
        Question.WHY: (
            "why (are|were) you calling", "why (did|do) you call", "why (are|do) you (ask|want)",
            "what (is|s) (this|it|that) (about|regarding|for|in regards to)",
            "whats (this|it|that|the call|this call) (about|regarding|for)",
            "what (are|were) you calling (about|for)", "what (is|s) the (call|reason)( for)?",
            "(what|whats) the reason", "what do you want", "reason for (the|your) call",
            "^(what is|whats) this$", "what is this call",
        ),
        Question.SALES: (
            "(is|s) (this|it|that) (a )?(sales|marketing|telemarketing|sales pitch|pitch)",
            "are you (selling|trying to sell)", "what are you selling",
            "are you (a )?(telemarketer|salesman|salesperson|sales rep)", "is this telemarketing",
            "you (trying|want) to sell me",
        ),
        Question.LENGTH: (
            # What kind of meeting it is, answered with its length and type.
            "(is|will) (it|the meeting|this) (be )?(on|a|by|over) (video|zoom|teams|phone|call)",
            "(is|will) it (be )?in person",
            "how long( (is|will|would|does|do|should))?( (it|the meeting|the call|this|that"
            "|the appointment|we need))?( (take|last|be|go))?", "how much (of my )?time",
            "how many minutes", "(is|will) it (take )?(long|quick)",
        ),
        Question.TIME_AGAIN: (
            "what (was|is) the (time|day|date)( again)?", "(which|what) day (was|is) (that|it)",
            "what (was|is) that (time|day|date)( again)?",
            "what time (was|is|did you say) (that|it)?( again)?", "what time did you say",
            "when (was|is|did you say) (that|it)( again)?", "which day did you say",
            "(say|repeat) the (time|day|date)", "(what|which) (time|day) again",
            "what date (was|is) (that|it)", "when did you say",
        ),
        Question.MY_TIME: (
            "(what|which) time (is|would|will) (that|it) (be )?(for me|in my time( zone)?|my time"
            "|where i am|here|local|over here|for us)", "(in|is that|that) my time( zone)?",
            "is (that|it) (in )?(my|local|your|our) time", "(what|which) time ?zone",
            "(is|s) (that|it|this) (for me|my time|where i am)", "in my (time )?zone",
            "is (that|it) (eastern|central|pacific|mountain)", "(your|my|our) time or",
        ),
        Question.NUMBER_SOURCE: (
            "(how|where) did you get (my|this|our) (number|info|information|details|name)",
            "how do you have (my|this|our) (number|info)", "who gave you (my|this|our) (number)",
            "where (did|do) you get (my|this|our) (number|info)", "how did you find (me|us)",
        ),
        Question.COST: (
            "(what|how much) (does|will|would|is) (it|this|that) (cost|going to cost|gonna cost)",
            "how much( is it| does it cost| is that| do you charge| will it be| will that be)?",
            "(is|s) (it|this|that|the meeting|the consultation|the call) free",
            "is there a (fee|charge|cost|catch)", "do (i|we) (have to|need to) pay",
            "(whats|what is) the (cost|price|catch|fee)", "what do you charge", "any cost",
            "does it cost", "how much will it", "(is|are) (there )?(any )?(costs|fees|charges)",
        ),
        Question.ROBOT: (
            "(am i|are we) (talking|speaking) (to|with) a (robot|machine|bot|computer|real"
            " person|person|human|recording|ai)", "are you (a |an )?(robot|bot|machine|computer"
            "|real|human|real person|person|ai|automated|recording|artificial)",
            "is this (a |an )?(robot|bot|recording|automated|ai|machine|real person|computer)",
            "is this (an )?ai", "(you|is this) a (robot|bot)", "is this a real person",
        ),
        Question.TIMES: (
            "what (other )?times? (do you have|have you got|(is|are) (there|available|open|free)"
            "|(can|could) you do|(works|suits|is good) for you)",
            "when (are you|is (he|she|they|someone|it)) (free|available|open)",
            "what (do you have|have you got|is) (available|open|free)",
            "what (are|is) (your|the) (availability|openings?|options)",
            "what (options|openings|availability|slots) do you have",
        ),
        Question.WHAT_NEXT: (
            "what happens (next|after that|then|now)", "(whats|what is|what are) the next steps?",
            "tell me more", "(how|hows) (does|would|will) (it|this|that) work",
            "(what|whats|what is) (the meeting|it) (about|for)",
            "^(yeah |yes |sure |ok )?what is it$",
            "what (would|will) we (talk|discuss)( about)?", "what do (i|we) (need|have) to do",
            "(whats|what is) next", "more (info|information|details)", "what do you offer",
            "what (would|will) (the meeting|it) (be|cover|involve)", "how does (it|this) work",
        ),
    },
    question_leads=(
        "but", "and", "so", "also", "ok", "okay", "yes", "yeah", "sure", "sorry", "well", "oh",
        "actually", "first", "right", "alright", "hey", "wait", "hmm", "no", "just", "then",
        "yet",
    ),
    question_starts=(
        "(what|whats|who|whos|where|wheres|when|whens|why|how|hows|which|whose)",
        f"(is|are|was|were|do|does|did|can|could|will|would|should|shall|may|might|have|has|am"
        f"|isnt|arent|dont|doesnt|wont|cant) {_PRONOUN}",
        "(can|could) you tell me", "tell me", "i (was )?wonder(ing)?", "do you know",
        "(quick|one|a) question", "i have a question", "let me ask",
    ),
    when=(
        f"(later )?(today|tonight|this {_DAY_PART}|this week|this weekend)",
        f"(tomorrow|{_WEEKDAY})( {_DAY_PART})?", f"(next|this) ({_WEEKDAY}|week|month|weekend)",
        f"in {_NUMBER}( more)? (minutes?|mins?|hours?|days?|weeks?|months?)",
        "in (an hour|half an hour|a half hour|a bit|a little bit|a little while|a while)",
        f"(after|around|at|before|by|about) {_CLOCK}", f"in the {_DAY_PART}",
        "(end|start|beginning) of (the )?(day|week|month)",
        f"later (today|tonight|this (week|{_DAY_PART})|on|in the (day|week|{_DAY_PART}))",
        # Vague, but what the caller said: recorded as said ("later").
        "(some )?other time", "another time", "later",
    ),
    later=(
        "later", "something later", "anything later", "after that", "a bit later", "later on",
        "next one", "another one", "different time", "other times", "other options",
        "something else", "anything else available", "too early",
    ),
    earlier=(
        "earlier", "sooner", "before that", "anything earlier", "something earlier", "too late",
    ),
    keep=(
        "keep it", "keep the original", "leave it", "never mind", "nevermind", "as is",
        "stick with", "the original", "(its|thats) fine as it is", "keep that", "keep (my|the) "
        "(booking|meeting|appointment|time)", "(dont|do not) (move|change) it",
    ),
    cancel=(
        # "dont cancel it" is no request to cancel.
        "(?<!dont )(?<!do not )(?<!not )(?<!never )cancel", "call it off", "scrap it",
        "drop the meeting", "(dont|do not) need the meeting",
    ),
    reschedule=(
        "reschedule", "move it", "move the meeting", "move that", "make it", "change it",
        "change the time", "switch it", "push it", "instead", "different day", "rather have",
        "can we do", "could we do",
    ),
    numbers=NUMBERS,
    alphabet=ALPHABET,
    email=EMAIL_WORDS,
    times=TIMES,
    zones=ZONES,
    speech=SPEECH,
)
# fmt: on
