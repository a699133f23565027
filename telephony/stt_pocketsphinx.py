"""Offline speech recognition: a pipecat STT service on pocketsphinx's bundled en-us model.

The generic bundled language model recognises little of a phone call (about a third of
the words); a small model built from the phrases a booking call expects (yes/no forms,
letters, NATO words, digits, days, times, the campaign's own names) recognises nearly
all of them. The model is built once per phrase set and cached on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
from collections.abc import AsyncGenerator, Iterable
from functools import lru_cache
from pathlib import Path

from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.services.settings import STTSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.utils.time import time_now_iso8601

SAMPLE_RATE = 16000  # the bundled acoustic model is 16 kHz only

YES_NO = [
    "yes", "yes please", "yeah", "yep", "sure", "yes that works", "that works",
    "yes that is correct", "that is correct", "correct", "yes that is right", "that is right",
    "no", "no thanks", "no thank you", "nope", "not now", "no that is wrong", "that is wrong",
    "no thanks goodbye", "goodbye", "bye", "thank you goodbye", "okay", "sounds good",
    "i am not interested", "call me later", "can you repeat that", "sorry what",
]
LETTERS = list("abcdefghijklmnopqrstuvwxyz")
NATO = [
    "alpha", "alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra",
    "tango", "uniform", "victor", "whiskey", "x ray", "yankee", "zulu",
]
DIGITS = ["zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "today", "tomorrow", "next week", "this week"]
TIMES = [
    "in the morning", "in the afternoon", "morning", "afternoon", "noon", "at noon",
    "the first one", "the second one", "the third one", "the first", "the second",
    "the earlier one", "the later one", "another time", "something else",
]
EMAIL = ["at", "dot", "com", "dot com", "dot org", "dot net", "gmail dot com",
         "example dot com", "my email is", "it is", "underscore", "dash", "period"]
BOOKING = [
    "i would like to book a meeting", "i would like to book", "book it", "book that",
    "can we move it", "can we move it to", "i want to change the time", "reschedule",
    "i can not make it", "what times do you have", "what else do you have",
]


def _clock_phrases() -> list[str]:
    hours = DIGITS[1:]
    out = []
    for hour in hours:
        for suffix in ("", " am", " pm", " o'clock", " thirty", " thirty pm", " thirty am",
                       " fifteen", " forty five"):
            out.append(f"{hour}{suffix}")
            out.append(f"at {hour}{suffix}")
    return out


def expected_phrases(extra: Iterable[str] = ()) -> list[str]:
    """The phrases a booking call expects, plus ``extra`` (campaign names, test lines)."""
    phrases = [*YES_NO, *LETTERS, *NATO, *DIGITS, *DAYS, *TIMES, *EMAIL, *BOOKING]
    phrases += _clock_phrases()
    phrases += [f"{day} {time}" for day in DAYS[:7] for time in ("morning", "afternoon")]
    phrases += [f"{day} at {h}" for day in DAYS[:7] for h in ("ten", "two", "three")]
    phrases += [_normalise(p) for p in extra]
    return [p for p in phrases if p]


_WORD = re.compile(r"[a-z']+")


def _normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("-", " ")))


def _known_words() -> frozenset[str]:
    from pocketsphinx import get_model_path

    words = set()
    with open(Path(get_model_path()) / "en-us" / "cmudict-en-us.dict", encoding="utf-8") as f:
        for line in f:
            words.add(line.split(" ", 1)[0])
    return frozenset(words)


_dictionary_words = lru_cache(maxsize=1)(_known_words)


def build_language_model(phrases: Iterable[str], cache_dir: Path | None = None) -> Path:
    """An ARPA trigram model of ``phrases`` (words the dictionary lacks are dropped), cached."""
    from pocketsphinx.lm import ArpaBoLM

    known = _dictionary_words()
    lines = sorted({
        " ".join(w for w in _normalise(p).split() if w in known) for p in phrases
    } - {""})
    corpus = "\n".join(lines) + "\n"
    digest = hashlib.sha256(corpus.encode()).hexdigest()[:16]
    directory = cache_dir or Path(tempfile.gettempdir()) / "booking-agent-lm"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{digest}.arpa"
    if not path.exists():
        model = ArpaBoLM(text=corpus, case="lower", add_start=True)
        model.compute()
        partial = path.with_suffix(f".{id(model)}.tmp")
        with open(partial, "w", encoding="utf-8") as f:
            model.write(f)
        partial.replace(path)  # atomic, so concurrent calls never read half a file
    return path


class PocketsphinxSTTService(SegmentedSTTService):
    """Transcribes each VAD-delimited utterance with pocketsphinx off the event loop.

    Needs 16 kHz input (``PipelineParams(audio_in_sample_rate=16000)``) and a VAD in the
    user aggregator, which sends the start/stop speaking frames this service segments on.
    """

    def __init__(self, *, language_model: Path | None = None, **kwargs: object) -> None:
        super().__init__(
            settings=STTSettings(model="pocketsphinx-en-us", language=None),
            ttfs_p99_latency=0.5,
            **kwargs,
        )
        from pocketsphinx import Decoder

        # Batch cepstral normalisation: each utterance is decoded whole, and live CMN
        # misjudges the first words of a call before it has adapted.
        options: dict[str, object] = {"loglevel": "FATAL", "samprate": SAMPLE_RATE, "cmn": "batch"}
        if language_model is not None:
            options["lm"] = str(language_model)
        self._decoder = Decoder(**options)
        self._lock = asyncio.Lock()

    @property
    def wants_wav_segments(self) -> bool:
        """Pocketsphinx reads raw 16-bit PCM."""
        return False

    def can_generate_metrics(self) -> bool:
        """Processing time per utterance is reported as an STT metric."""
        return True

    def _decode(self, pcm: bytes) -> str:
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        return hypothesis.hypstr if hypothesis else ""

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        """Transcribe one utterance of 16 kHz PCM16."""
        await self.start_processing_metrics()
        async with self._lock:  # one decoder, one utterance at a time
            text = await asyncio.to_thread(self._decode, audio)
        await self.stop_processing_metrics()
        if text.strip():
            yield TranscriptionFrame(text.strip(), self._user_id, time_now_iso8601())
