"""Speech provider choice from settings, and the filler said while a tool runs."""

from __future__ import annotations

import pytest
from pipecat.frames.frames import (
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    TTSSpeakFrame,
)
from pipecat.tests.utils import SleepFrame, run_test

from app.settings import Settings
from telephony.config import SpeechConfig
from telephony.phone_pipeline import FILLER, ToolFiller
from telephony.services import ProviderNotConfigured, choose_speech


def _settings(**values) -> SpeechConfig:
    # Through the shell's settings, as an operator sets them.
    return Settings(_env_file=None, **values).speech()


def test_no_keys_means_the_offline_pair():
    assert (choose_speech(_settings()).stt, choose_speech(_settings()).tts) == (
        "pocketsphinx", "espeak")


def test_auto_takes_the_first_provider_with_a_key():
    choice = choose_speech(_settings(deepgram_api_key="k", elevenlabs_api_key="k"))
    assert (choice.stt, choice.tts) == ("deepgram", "elevenlabs")


def test_an_openai_compatible_llm_server_does_not_make_openai_the_voice():
    choice = choose_speech(_settings(openai_api_key="k", openai_base_url="http://llm/v1"))
    assert (choice.stt, choice.tts) == ("pocketsphinx", "espeak")
    assert choose_speech(_settings(openai_api_key="k")).tts == "openai"


def test_a_chosen_provider_without_its_key_is_refused():
    with pytest.raises(ProviderNotConfigured, match="cartesia"):
        choose_speech(_settings(tts_provider="cartesia"))
    with pytest.raises(ProviderNotConfigured, match="unknown"):
        choose_speech(_settings(stt_provider="whisper.cpp"))


def _tool_frames(seconds: float) -> list:
    started = FunctionCallInProgressFrame(function_name="book_slot", tool_call_id="t1",
                                          arguments={})
    done = FunctionCallResultFrame(function_name="book_slot", tool_call_id="t1",
                                   arguments={}, result={"ok": True})
    return [started, SleepFrame(sleep=seconds), done, SleepFrame(sleep=0.1)]


async def test_a_slow_tool_gets_one_filler_while_it_runs():
    down, _ = await run_test(ToolFiller(after_seconds=0.3), frames_to_send=_tool_frames(0.8))
    spoken = [f.text for f in down if isinstance(f, TTSSpeakFrame)]
    assert spoken == [FILLER]
    kinds = [type(f) for f in down]
    assert kinds.index(TTSSpeakFrame) < kinds.index(FunctionCallResultFrame)


async def test_a_quick_tool_gets_no_filler():
    down, _ = await run_test(ToolFiller(after_seconds=0.3), frames_to_send=_tool_frames(0.05))
    assert not [f for f in down if isinstance(f, TTSSpeakFrame)]


def test_every_provider_builds_its_pipecat_service():
    from app.campaign_files import parse_campaign
    from telephony.services import make_stt, make_tts

    campaign = parse_campaign({"name": "spring"})
    for provider in ("cartesia", "elevenlabs", "deepgram", "openai", "espeak"):
        settings = _settings(tts_provider=provider, cartesia_api_key="k",
                             elevenlabs_api_key="k", deepgram_api_key="k", openai_api_key="k")
        assert make_tts(settings) is not None
    assert make_stt(_settings(stt_provider="openai", openai_api_key="k"), campaign) is not None
    assert make_stt(_settings(), campaign) is not None
