"""TwiML the call server answers with."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.twiml.voice_response import Connect, Stream, VoiceResponse


def connect_stream(stream_url: str, parameters: Mapping[str, str]) -> str:
    """Bidirectional media: ``<Connect><Stream>`` with the call's parameters.

    ``<Connect>`` (not ``<Start>``) is what lets the agent's audio reach the caller.
    """
    response = VoiceResponse()
    connect = Connect()
    stream = Stream(url=stream_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    connect.append(stream)
    response.append(connect)
    return str(response)


def decline(message: str) -> str:
    """Say ``message`` and hang up (a number no campaign answers)."""
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)


def hang_up() -> str:
    """Hang up without a word (a replayed webhook for a call that already had its stream)."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
