"""The offline speech pair: espeak-ng speaks, pocketsphinx with the booking model hears."""

from __future__ import annotations

import pytest
from pipecat.audio.utils import create_stream_resampler, ulaw_to_pcm
from pipecat.frames.frames import (
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import SleepFrame, run_test

from app.campaign_files import parse_campaign
from telephony.services import campaign_phrases
from telephony.stt_pocketsphinx import PocketsphinxSTTService, build_language_model
from telephony.tts_espeak import EspeakTTSService
from tests.fakes.media_caller import caller_speech_ulaw


async def _phone_line_pcm16k(text: str) -> bytes:
    """``text`` as the pipeline hears a caller: espeak-ng → 8 kHz μ-law → pipecat's resampler."""
    # Line silence around the words, as on a call: the resampler has run before the caller
    # speaks and keeps running after, which flushes the speech's tail through it.
    silence = b"\xff" * 4000
    ulaw = silence + caller_speech_ulaw(text) + silence
    resampler = create_stream_resampler()
    return b"".join([await ulaw_to_pcm(ulaw[i:i + 160], 8000, 16000, resampler)
                     for i in range(0, len(ulaw), 160)])


def test_language_model_keeps_only_words_the_dictionary_knows(tmp_path):
    path = build_language_model(["wednesday at three pm", "zorblax wednesday"], tmp_path)
    text = path.read_text()
    assert "wednesday" in text and "zorblax" not in text
    assert build_language_model(["zorblax wednesday", "wednesday at three pm"], tmp_path) == path


@pytest.mark.parametrize(
    "phrase",
    ["yes that works", "john at example dot com", "yes that is correct", "no thank you goodbye",
     "my email is john at example dot com", "sure that works"],
)
async def test_caller_speech_over_the_phone_line_is_transcribed(phrase):
    # The service's own transcription of one phone-line segment; how pipecat delivers
    # segments (VAD frames, scheduling) is covered by the end-to-end call tests.
    model = build_language_model(campaign_phrases(parse_campaign({"name": "spring"})))
    stt = PocketsphinxSTTService(language_model=model)
    pcm = await _phone_line_pcm16k(phrase)
    # Set the service up at 16 kHz as a pipeline would, then hand it the segment.
    await run_test(stt, frames_to_send=[SleepFrame(sleep=0.1)],
                   pipeline_params=PipelineParams(audio_in_sample_rate=16000))
    heard = [f.text async for f in stt.run_stt(pcm) if isinstance(f, TranscriptionFrame)]
    assert heard == [phrase]


async def test_agent_sentence_is_synthesised_at_the_pipeline_output_rate():
    tts = EspeakTTSService()
    down, _ = await run_test(
        tts,
        frames_to_send=[TTSSpeakFrame("One moment while I check the calendar."),
                        SleepFrame(sleep=1.0)],
        pipeline_params=PipelineParams(audio_out_sample_rate=8000),
    )
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert audio and {f.sample_rate for f in audio} == {8000}
    seconds = sum(len(f.audio) for f in audio) / 2 / 8000
    assert 1.0 < seconds < 5.0
