"""A phone caller as Twilio Media Streams presents one, over a real WebSocket.

It sends ``connected`` and ``start`` (with customParameters), then one ``media`` packet
(20 ms of 8 kHz μ-law) every 20 ms in real time: synthesised speech when the test makes
the caller say something, line silence otherwise. It records every packet the agent sends
(``media``, ``clear``, ``mark``; marks are echoed back once the audio before them has been
"played"), and can transcribe the agent's audio with pocketsphinx to assert on words.
"""

from __future__ import annotations

import asyncio
import audioop
import base64
import json
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

PACKET_BYTES = 160  # 20 ms of 8 kHz μ-law
PACKET_SECONDS = 0.02
ULAW_SILENCE = b"\xff"


CALLER_VOICE = "en-us+f2"  # the espeak-ng voice the offline recogniser hears best


def caller_speech_ulaw(
    text: str, *, voice: str = CALLER_VOICE, words_per_minute: int = 150
) -> bytes:
    """``text`` spoken by espeak-ng as 8 kHz μ-law, the way a phone line carries it."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "--stdout", "--", text],
        capture_output=True, check=True,
    ).stdout
    # -R: sox dithers when it cuts to 8 bits, from a clock-seeded generator unless told to
    # repeat itself; an unseeded dither made one phrase in a few hundred decode differently.
    ulaw = subprocess.run(
        ["sox", "-R", "-t", "wav", "-", "-t", "raw", "-r", "8000", "-e", "u-law", "-c", "1", "-"],
        input=wav, capture_output=True, check=True,
    ).stdout
    return _trim_quiet_ends(ulaw)


def _trim_quiet_ends(ulaw: bytes, threshold: int = 32) -> bytes:
    # espeak-ng pads its WAV with silence; cut it, so "the caller stopped speaking" is the
    # moment the last sound went out (latency is measured from there).
    pcm = audioop.ulaw2lin(ulaw, 2)
    loud = [i for i in range(0, len(pcm), 2)
            if abs(int.from_bytes(pcm[i:i + 2], "little", signed=True)) > threshold]
    if not loud:
        return ulaw
    return ulaw[loud[0] // 2: loud[-1] // 2 + 1]


def transcribe_ulaw(ulaw: bytes, language_model: Path | None = None) -> str:
    """What pocketsphinx hears in 8 kHz μ-law audio (e.g. the agent's side of the call)."""
    from pocketsphinx import Decoder

    pcm8k = audioop.ulaw2lin(ulaw, 2)
    pcm16k, _ = audioop.ratecv(pcm8k, 2, 1, 8000, 16000, None)
    options: dict[str, Any] = {"loglevel": "FATAL", "cmn": "batch"}
    if language_model is not None:
        options["lm"] = str(language_model)
        options["dict"] = str(language_model.with_suffix(".dict"))
    decoder = Decoder(**options)
    decoder.start_utt()
    decoder.process_raw(pcm16k, full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() else ""


@dataclass
class AgentPacket:
    """One media packet from the agent, with when it arrived (monotonic seconds)."""

    at: float
    ulaw: bytes


@dataclass
class MediaCaller:
    """One call's caller side. Use ``async with MediaCaller(url, ...) as caller:``."""

    url: str
    custom_parameters: dict[str, str] = field(default_factory=dict)
    call_sid: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)
    account_sid: str = "AC" + "0" * 32
    stream_sid: str = field(default_factory=lambda: "MZ" + uuid.uuid4().hex)
    received: list[AgentPacket] = field(default_factory=list)
    clears: list[float] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    # (caller finished speaking, first agent audio after it) for each said phrase
    turns: list[tuple[float, float | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._speech: asyncio.Queue[tuple[bytes, asyncio.Future[float]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._socket: Any = None
        self._chunk = 0
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._stopped = False

    async def __aenter__(self) -> MediaCaller:
        self._socket = await websockets.connect(self.url, max_size=None)
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await self._send({
            "event": "start", "sequenceNumber": "1", "streamSid": self.stream_sid,
            "start": {
                "accountSid": self.account_sid, "streamSid": self.stream_sid,
                "callSid": self.call_sid, "tracks": ["inbound"],
                "customParameters": self.custom_parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        })
        self._tasks = [asyncio.create_task(self._sender()), asyncio.create_task(self._receiver())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.hang_up()

    async def _send(self, message: dict[str, Any]) -> None:
        await self._socket.send(json.dumps(message))

    async def _sender(self) -> None:
        """One packet every 20 ms on a fixed clock, like Twilio's media stream."""
        started = time.monotonic()
        pending: bytes = b""
        done: asyncio.Future[float] | None = None
        try:
            while not self.closed.is_set():
                if not pending and not self._speech.empty():
                    pending, done = self._speech.get_nowait()
                packet, pending = pending[:PACKET_BYTES], pending[PACKET_BYTES:]
                packet = packet.ljust(PACKET_BYTES, ULAW_SILENCE)
                self._chunk += 1
                await self._send({
                    "event": "media", "sequenceNumber": str(self._chunk + 1),
                    "streamSid": self.stream_sid,
                    "media": {"track": "inbound", "chunk": str(self._chunk),
                              "timestamp": str(self._chunk * 20),
                              "payload": base64.b64encode(packet).decode()},
                })
                if not pending and done is not None:
                    done.set_result(time.monotonic())
                    done = None
                next_at = started + self._chunk * PACKET_SECONDS
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        except websockets.ConnectionClosed:
            self.closed.set()

    async def _receiver(self) -> None:
        try:
            async for raw in self._socket:
                message = json.loads(raw)
                event = message.get("event")
                if event == "media":
                    payload = base64.b64decode(message["media"]["payload"])
                    now = time.monotonic()
                    self.received.append(AgentPacket(now, payload))
                    if self.turns and self.turns[-1][1] is None:
                        self.turns[-1] = (self.turns[-1][0], now)
                elif event == "clear":
                    self.clears.append(time.monotonic())
                elif event == "mark":
                    name = message["mark"]["name"]
                    self.marks.append(name)
                    await self._send({"event": "mark", "streamSid": self.stream_sid,
                                      "mark": {"name": name}})
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self._socket.close_code
            self.closed.set()

    async def say(self, text: str) -> float:
        """Speak ``text`` into the call in real time; returns when the last packet went out."""
        return await self.play(caller_speech_ulaw(text))

    async def play(self, ulaw: bytes) -> float:
        """Send ``ulaw`` audio at the line's pace; returns when its last packet went out."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        await self._speech.put((ulaw, done))
        finished = await done
        self.turns.append((finished, None))
        return finished

    def agent_audio_since(self, since: float) -> bytes:
        """The agent's audio received after monotonic time ``since``."""
        return b"".join(p.ulaw for p in self.received if p.at >= since)

    async def wait_for_agent_turn(self, since: float, *, quiet: float = 1.0,
                                  timeout: float = 20.0) -> bytes:
        """Wait until the agent has spoken after ``since`` and then paused ``quiet`` seconds.

        Returns the audio of that turn; raises TimeoutError if the agent stays silent.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            audio = [p for p in self.received if p.at >= since]
            if audio and time.monotonic() - audio[-1].at >= quiet:
                return b"".join(p.ulaw for p in audio)
            if self.closed.is_set() and audio:
                return b"".join(p.ulaw for p in audio)
            if self.closed.is_set():
                break
            await asyncio.sleep(0.05)
        raise TimeoutError(f"the agent said nothing within {timeout} s")

    async def wait_for_agent_audio(self, since: float, seconds: float,
                                   timeout: float = 20.0) -> bytes:
        """Wait until ``seconds`` of agent audio arrived after ``since``; that audio."""
        needed = int(seconds * 8000)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed.is_set():
            audio = self.agent_audio_since(since)
            if len(audio) >= needed:
                return audio[:needed]
            await asyncio.sleep(0.02)
        raise TimeoutError(f"less than {seconds} s of agent audio within {timeout} s")

    async def hang_up(self) -> None:
        """Send ``stop`` and close the socket (what Twilio does when the caller hangs up)."""
        if self._stopped:
            return
        self._stopped = True
        if not self.closed.is_set():
            try:
                await self._send({"event": "stop", "sequenceNumber": str(self._chunk + 2),
                                  "streamSid": self.stream_sid,
                                  "stop": {"accountSid": self.account_sid,
                                           "callSid": self.call_sid}})
                await self._socket.close()
            except websockets.ConnectionClosed:
                pass
        self.closed.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
