"""Offline speech recognition: a pipecat STT service on pocketsphinx's bundled en-us model.

The generic bundled language model recognises little of a phone call (about a third of
the words); a small model built from the phrases a booking call expects (yes/no forms,
letters, NATO words, digits, days, times, the campaign's own names) recognises nearly
all of them. The model is built once per phrase set and cached on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import tempfile
import uuid
from collections.abc import AsyncGenerator, Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.services.settings import STTSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.utils.time import time_now_iso8601

from caller_language.en import ENGLISH

SAMPLE_RATE = 16000  # the bundled acoustic model is 16 kHz only
LANGUAGE_WEIGHT = 13.0
SILENCE_MARGIN_SECONDS = 0.15
SILENCE_THRESHOLD = 300  # PCM16 amplitude: well above line noise, below speech

# The words come from the language's tables, each written once in caller_language.
_SPEECH = ENGLISH.speech
_NUMBERS = ENGLISH.numbers
YES_NO = list(_SPEECH.yes_no)
LETTERS = list(ENGLISH.alphabet.nato_by_letter)
NATO = list(ENGLISH.alphabet.nato_words)
# "oh" is zero in a run of digits; hours go up to twelve.
DIGITS = [*_NUMBERS.digits, _NUMBERS.oh, *_NUMBERS.teens[:3]]
DAYS = [*ENGLISH.times.weekdays, *_SPEECH.relative_days]
TIMES = list(_SPEECH.times)
EMAIL = list(_SPEECH.email)
FIRST_NAMES = list(_SPEECH.first_names)
DOMAINS = list(_SPEECH.domains)
BOOKING = list(_SPEECH.booking)


def _clock_phrases() -> list[str]:
    hours = DIGITS[1:]
    out = []
    for hour in hours:
        for suffix in ("", " am", " pm", " o'clock", " thirty", " thirty pm", " thirty am",
                       " fifteen", " forty five"):
            out.append(f"{hour}{suffix}")
            out.append(f"at {hour}{suffix}")
    return out


def _address_phrases(names: Iterable[str]) -> list[str]:
    out = [f"at {domain} dot com" for domain in DOMAINS]
    for i, name in enumerate(names):
        domain = DOMAINS[i % len(DOMAINS)]
        out += [f"{name} at", f"{name} dot", f"my email is {name} at {domain} dot com"]
    return out


def expected_phrases(extra: Iterable[str] = (), names: Iterable[str] = ()) -> list[str]:
    """The phrases a booking call expects, plus ``extra`` (campaign words) and ``names``
    (the caller's, as they may appear in an e-mail address)."""
    phrases = [*YES_NO, *LETTERS, *NATO, *DIGITS, *DAYS, *TIMES, *EMAIL, *BOOKING]
    phrases += _clock_phrases()
    phrases += _address_phrases(FIRST_NAMES)
    phrases += [f"{day} {time}" for day in DAYS[:7] for time in ("morning", "afternoon")]
    phrases += [f"{day} at {h}" for day in DAYS[:7] for h in _SPEECH.example_hours]
    phrases += _address_phrases(_normalise(n) for n in names if n)
    phrases += [_normalise(p) for p in extra]
    return [p for p in phrases if p]


_WORD = re.compile(r"[a-z']+")


def _normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("-", " ")))


@lru_cache(maxsize=1)
def _pronunciations() -> dict[str, list[str]]:
    """The bundled dictionary: word → its lines (alternates are ``word(2)`` lines)."""
    from pocketsphinx import get_model_path

    entries: dict[str, list[str]] = {}
    with open(Path(get_model_path()) / "en-us" / "cmudict-en-us.dict", encoding="utf-8") as f:
        for line in f:
            head = line.split(" ", 1)[0]
            entries.setdefault(head.split("(", 1)[0], []).append(line.rstrip("\n"))
    return entries


def build_language_model(phrases: Iterable[str], cache_dir: Path | None = None) -> Path:
    """An ARPA trigram model of ``phrases`` (words the dictionary lacks are dropped), cached.

    Beside it (same name, ``.dict``) goes the dictionary of just its words: loading the
    whole 130,000-word dictionary costs seconds per call, this one milliseconds.
    """
    from pocketsphinx.lm import ArpaBoLM

    known = _pronunciations()
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
        vocabulary = sorted({w for line in lines for w in line.split()})
        dictionary = "".join(entry + "\n" for w in vocabulary for entry in known[w])
        _write_atomically(path.with_suffix(".dict"), dictionary)
        buffer = io.StringIO()
        model.write(buffer)
        _write_atomically(path, buffer.getvalue())  # last: its presence means both are done
    return path


def _write_atomically(path: Path, text: str) -> None:
    # Concurrent calls may build the same model: never let one read half a file.
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def trim_silence(pcm: bytes, *, margin_seconds: float = SILENCE_MARGIN_SECONDS,
                 threshold: int = SILENCE_THRESHOLD) -> bytes:
    """``pcm`` (16 kHz PCM16) cut to its sound plus ``margin_seconds`` of silence each side.

    A segment's silence varies with VAD timing (up to a second of pre-roll, the stop delay,
    the padding); with batch normalisation that silence shifts the features, and the same
    words then decode differently. A fixed margin makes a phrase decode the same each time.
    """
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype=np.int16)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return pcm
    margin = np.zeros(int(margin_seconds * SAMPLE_RATE), dtype=np.int16)
    sound = samples[loud[0]: loud[-1] + 1]
    return np.concatenate([margin, sound, margin]).tobytes()


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
        # A heavier language weight (default 6.5) keeps hypotheses to the expected phrases,
        # which phone-line audio otherwise loses to look-alike letters and digits.
        options: dict[str, object] = {"loglevel": "FATAL", "samprate": SAMPLE_RATE,
                                      "cmn": "batch", "lw": LANGUAGE_WEIGHT}
        if language_model is not None:
            options["lm"] = str(language_model)
            dictionary = language_model.with_suffix(".dict")
            if dictionary.exists():
                options["dict"] = str(dictionary)
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
        pcm = trim_silence(pcm)
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
