"""The dialogue as pipecat processors: the interface the phone pipeline builds on."""

from __future__ import annotations

from datetime import UTC, datetime

from pipecat.frames.frames import (
    EndWorkerFrame,
    LLMMessagesAppendFrame,
    LLMRunFrame,
    LLMTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies

from agent.pipeline import AgentVoice, DialogueRouter, build_dialogue, open_call
from app.bootstrap import connect_calendar
from app.campaign_files import load_campaign
from app.settings import Settings
from storage.database import Database

NOW = datetime(2026, 12, 1, 14, tzinfo=UTC)
CAMPAIGN = load_campaign("examples/campaigns/demo.yaml")


async def _call(database: Database):  # noqa: ANN202
    return await open_call(
        CAMPAIGN, caller_number="+12125550100", caller_name="Robin", call_id="c-1", now=NOW,
        database=database,
        calendar=connect_calendar(CAMPAIGN, database, Settings(_env_file=None)),
    )


async def test_without_a_key_the_guided_policy_talks(database: Database) -> None:
    parts = build_dialogue(await _call(database))
    assert parts.dialogue.mode == "guided" and parts.llm is None
    kinds = [type(p) for p in parts.before_tts[1:]]
    assert kinds == [DialogueRouter, AgentVoice]
    assert len(parts.after_output) == 1


async def test_with_a_key_the_llm_talks_at_the_configured_server(database: Database) -> None:
    settings = Settings(
        _env_file=None, openai_api_key="k", openai_base_url="http://127.0.0.1:9/v1",
        openai_model="some-model",
    )
    parts = build_dialogue(await _call(database), llm=settings.llm())
    assert parts.dialogue.mode == "llm"
    assert isinstance(parts.llm, OpenAILLMService)
    assert parts.llm in parts.before_tts
    assert str(parts.llm._client.base_url) == "http://127.0.0.1:9/v1/"
    assert parts.llm._client.max_retries == 0


async def test_greets_on_the_first_run_and_ends_the_call_after_goodbye(
    database: Database,
) -> None:
    call = await _call(database)
    parts = build_dialogue(
        call, user_turn_strategies=ExternalUserTurnStrategies()
    )
    down, _ = await run_test(
        Pipeline(parts.before_tts),  # what reaches the TTS
        frames_to_send=[
            LLMRunFrame(),
            SleepFrame(0.2),
            LLMMessagesAppendFrame([{"role": "user", "content": "not interested"}], run_llm=True),
            SleepFrame(0.3),
        ],
        send_end_frame=False,
    )
    said = [f.text for f in down if isinstance(f, LLMTextFrame)]
    assert said[0].startswith("Hi Robin, this is Alex from Northwind Consulting.")
    assert said[-1].endswith("Goodbye!")
    ends = [i for i, f in enumerate(down) if isinstance(f, EndWorkerFrame)]
    last_words = max(i for i, f in enumerate(down) if isinstance(f, LLMTextFrame))
    assert ends and ends[0] > last_words  # the hang-up travels behind the goodbye
    assert [t["role"] for t in call.transcript] == ["agent", "caller", "agent"]
    assert call.outcome == "declined"
    assert call.ended
