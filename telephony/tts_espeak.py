"""Offline speech synthesis: a pipecat TTS service on the espeak-ng command (Debian package)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncGenerator, AsyncIterator

from pipecat.frames.frames import ErrorFrame, Frame
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService

_WAV_HEADER = 44


class EspeakUnavailable(RuntimeError):
    """espeak-ng is not installed (``scripts/system-packages`` installs it)."""


async def synthesise_wav(text: str, *, voice: str = "en-us", words_per_minute: int = 160) -> bytes:
    """The WAV (22,050 Hz mono PCM16) espeak-ng makes of ``text``; raises on failure."""
    if shutil.which("espeak-ng") is None:
        raise EspeakUnavailable("espeak-ng is not installed; run scripts/system-packages")
    process = await asyncio.create_subprocess_exec(
        "espeak-ng", "-v", voice, "-s", str(words_per_minute), "--stdout", "--", text,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    wav, err = await process.communicate()
    if process.returncode or len(wav) <= _WAV_HEADER:
        raise RuntimeError(f"espeak-ng failed: {err.decode(errors='replace').strip()}")
    return wav


class EspeakTTSService(TTSService):
    """Speaks each aggregated sentence with espeak-ng, resampled to the pipeline's output rate."""

    def __init__(self, *, voice: str = "en-us", words_per_minute: int = 160, **kwargs: object):
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model="espeak-ng", voice=voice, language=None),
            **kwargs,
        )
        self._words_per_minute = words_per_minute

    def can_generate_metrics(self) -> bool:
        """Time to first byte is reported as a TTS metric."""
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        """Synthesise ``text`` and yield its audio frames."""
        try:
            wav = await synthesise_wav(
                text, voice=self._settings.voice, words_per_minute=self._words_per_minute
            )
        except (RuntimeError, OSError) as exc:
            yield ErrorFrame(error=f"{self}: {exc}")
            return

        async def whole() -> AsyncIterator[bytes]:
            yield wav

        async for frame in self._stream_audio_frames_from_iterator(
            whole(), strip_wav_header=True, context_id=context_id
        ):
            await self.stop_ttfb_metrics()
            yield frame
