"""A scripted OpenAI-compatible chat server on 127.0.0.1, speaking real HTTP and SSE.

The real ``openai`` client inside pipecat's OpenAILLMService talks to it, so the real tool
plumbing runs. Each ``POST /v1/chat/completions`` takes the next step of the script:

* ``{"text": "..."}``: stream that text;
* ``{"text_from_tool": true}``: stream the ``say`` of the latest tool result (what a model told
  to "say the tool's words" does);
* ``{"tool": "book_slot", "args": {"slot_id": "$slot:1"}}``: stream one tool call; ``$slot:N``
  is the N-th slot id of the latest tool result that listed slots (a model reading the ids);
* ``{"fail": 500}``: answer HTTP 500; ``{"fail": "timeout"}``: answer nothing for
  ``hang_seconds`` (the client's time-out fires first).

When the script runs out it streams "Sorry, could you say that again?". Every request body is
kept in ``requests`` for assertions.

Run standalone for the test-call harness::

    python -m tests.fakes.openai_server --scenario examples/scenarios/llm_happy_path.yaml
    booking-agent test-call --script examples/scenarios/llm_happy_path.yaml \\
        --llm-url http://127.0.0.1:8765/v1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from tests.fakes.loopback import BackgroundServer

EXHAUSTED = "Sorry, could you say that again?"


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "fake",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for message in messages:
        if message.get("role") == "tool":
            try:
                results.append(json.loads(message.get("content") or "{}"))
            except json.JSONDecodeError:
                continue
    return results


def _substitute(args: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    with_slots = [r for r in _tool_results(messages) if isinstance(r, dict) and r.get("slots")]
    out = {}
    for key, value in args.items():
        if isinstance(value, str) and value.startswith("$slot:"):
            index = int(value.split(":", 1)[1]) - 1
            slots = with_slots[-1]["slots"] if with_slots else []
            value = slots[index]["slot_id"] if index < len(slots) else "slot-none"
        out[key] = value
    return out


class FakeOpenAI:
    """The scripted server, run in a background thread (``with FakeOpenAI(script) as fake``)."""

    def __init__(self, script: list[dict[str, Any]] | None = None, *, port: int = 0,
                 hang_seconds: float = 30.0) -> None:
        self.script: list[dict[str, Any]] = list(script or [])
        self.requests: list[dict[str, Any]] = []
        self.hang_seconds = hang_seconds
        self._stopping = threading.Event()
        self.app = self._build_app()
        self._background = BackgroundServer(self.app, port, "fake-openai",
                                            graceful_shutdown_seconds=1)
        self.port = self._background.port

    @property
    def url(self) -> str:
        """The base URL to give an OpenAI client (``.../v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Any:
            body = await request.json()
            self.requests.append(body)
            step = self.script.pop(0) if self.script else {"text": EXHAUSTED}
            if step.get("fail") == 500:
                return JSONResponse(
                    {"error": {"message": "scripted failure", "type": "server_error"}},
                    status_code=500,
                )
            if step.get("fail") == "timeout":
                # Hang (the client gives up first), but let stop() end the wait promptly.
                deadline = time.monotonic() + self.hang_seconds
                while time.monotonic() < deadline and not self._stopping.is_set():
                    await asyncio.sleep(0.05)
                return JSONResponse({"error": {"message": "too late"}}, status_code=504)
            return StreamingResponse(
                self._stream(step, body.get("messages", [])), media_type="text/event-stream"
            )

        return app

    async def _stream(
        self, step: dict[str, Any], messages: list[dict[str, Any]]
    ) -> AsyncIterator[str]:
        yield _sse(_chunk({"role": "assistant", "content": ""}))
        if step.get("tool"):
            args = _substitute(step.get("args") or {}, messages)
            call_id = f"call_{len(self.requests)}"
            yield _sse(_chunk({"tool_calls": [{
                "index": 0, "id": call_id, "type": "function",
                "function": {"name": step["tool"], "arguments": ""},
            }]}))
            yield _sse(_chunk({"tool_calls": [{
                "index": 0, "function": {"arguments": json.dumps(args)},
            }]}))
            yield _sse(_chunk(finish="tool_calls"))
        else:
            text = step.get("text") or ""
            if step.get("text_from_tool"):
                results = _tool_results(messages)
                text = results[-1].get("say", "") if results else EXHAUSTED
            for word in text.split(" "):
                yield _sse(_chunk({"content": word + " "}))
            yield _sse(_chunk(finish="stop"))
        yield _sse({
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
            "model": "fake", "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })
        yield "data: [DONE]\n\n"

    def start(self) -> FakeOpenAI:
        """Serve in a background thread; returns once the port accepts connections."""
        self._background.start()
        return self

    def stop(self) -> None:
        """Stop serving (hung "timeout" requests are released first)."""
        self._stopping.set()
        self._background.stop()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def main() -> None:
    """Serve a scenario's ``llm_script`` until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", required=True, help="scenario YAML with llm_script")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with open(args.scenario, encoding="utf-8") as handle:
        script = (yaml.safe_load(handle) or {}).get("llm_script") or []
    fake = FakeOpenAI(script, port=args.port).start()
    print(f"fake OpenAI server on {fake.url} with {len(script)} scripted steps", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
