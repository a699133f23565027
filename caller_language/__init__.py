"""Caller language: what a caller says, read into addresses, zones, times and intents.

Pure: standard library and phonenumbers only (no I/O, no pipecat, no database).

Languages. Every word the readers know lives in one object per language, a
:class:`caller_language.turns.Vocabulary`: the turn reader's phrases plus the tables typed in
:mod:`caller_language.word_tables` (numbers, letters, e-mail words, time words, zone names, the
offline recogniser's phrases). English is :data:`caller_language.en.ENGLISH`, one module per
table in ``caller_language/en/``; the reader modules (``understanding``, ``spelling``,
``email``, ``time_phrases``, ``time_mentions``, ``timezones``) and the recogniser's phrase list
take their words from it and write none of their own (``tests/test_language_tables.py``).

To add a language (say French): create ``caller_language/fr/`` mirroring ``en/`` (its
``__init__`` builds ``FRENCH = Vocabulary(...)`` from ``numbers.py``, ``alphabet.py``,
``email_words.py``, ``times.py``, ``zones.py``, ``speech.py``), and the agent's sentences as
``prompts/`` templates. ``read_turn``/``normalize`` take the vocabulary as an argument; the other
readers compile their grammars from ``ENGLISH`` at import, so they are what a second language
selects next. The language packages import only the language-free types (``word_tables``,
``turns``), never a reader, so no import cycle.
"""
