"""What Twilio sends the call server, validated at the edge: webhook forms and the opening
messages of a Media Stream.

Anything that does not fit is refused as a whole with a short reason that quotes nothing
of the input (the senders are unauthenticated until their signature or token checks out,
so their bytes never reach the log).
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic.alias_generators import to_camel, to_pascal

# Twilio's sids: two letters naming the resource, then 32 hex digits.
CallSid = Annotated[str, StringConstraints(pattern=r"^CA[0-9a-fA-F]{32}$")]
StreamSid = Annotated[str, StringConstraints(pattern=r"^MZ[0-9a-fA-F]{32}$")]
AccountSid = Annotated[str, StringConstraints(pattern=r"^AC[0-9a-fA-F]{32}$")]
# E.164, "client:name", "anonymous": printable ASCII, and as long as the column holds.
PhoneNumber = Annotated[str, StringConstraints(pattern=r"^[!-~]{0,32}$")]
ShortText = Annotated[str, StringConstraints(max_length=256)]
CallStatus = Literal["queued", "initiated", "ringing", "in-progress", "completed", "busy",
                     "failed", "no-answer", "canceled"]

# A start message with its parameters is well under 4 KB; anything far longer is not Twilio.
MAX_MESSAGE_CHARS = 16_384


class PayloadInvalid(ValueError):
    """A webhook form or stream message that is not what Twilio sends; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(what: str, exc: ValidationError) -> str:
    # Error types and our own field names only: never the offending input.
    kinds = sorted({str(error["type"]) for error in exc.errors(include_input=False)})
    return f"invalid {what} ({', '.join(kinds[:3])})"


class VoiceWebhook(BaseModel):
    """The form of Twilio's voice webhook (the fields the server uses)."""

    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_pascal)

    call_sid: CallSid
    from_number: PhoneNumber = Field("", alias="From")
    to_number: PhoneNumber = Field("", alias="To")
    direction: Annotated[str, StringConstraints(max_length=32)] = "inbound"

    @property
    def outbound(self) -> bool:
        """Whether this server placed the call (``outbound-api``, ``outbound-dial``)."""
        return self.direction.startswith("outbound")


class StatusCallback(BaseModel):
    """The form of Twilio's call status callback (the fields the server records)."""

    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_pascal)

    call_sid: CallSid
    call_status: CallStatus
    # Whole seconds, ASCII digits only ("²" passes str.isdigit() but is no number).
    call_duration: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}$")] | None = None

    @property
    def duration_seconds(self) -> float | None:
        """The call's duration, when Twilio reported one."""
        return float(self.call_duration) if self.call_duration is not None else None


class AmdCallback(BaseModel):
    """The form of Twilio's asynchronous answering-machine-detection callback."""

    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_pascal)

    call_sid: CallSid
    answered_by: Literal["human", "machine_start", "machine_end_beep", "machine_end_silence",
                         "machine_end_other", "fax", "unknown"]


class DialReference(BaseModel):
    """The dialling job and attempt a placed call's callback URLs carry (``?job=&attempt=``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    job: int = Field(ge=1, le=2**62)
    attempt: int = Field(ge=1, le=1000)


def dial_reference(query: dict[str, str]) -> DialReference | None:
    """The job reference in a callback's query, or None when there is none (or it is bad)."""
    if "job" not in query:
        return None
    try:
        return DialReference.model_validate(query)
    except ValidationError:
        return None


FormT = TypeVar("FormT", VoiceWebhook, StatusCallback, AmdCallback)


def parse_form(model: type[FormT], form: dict[str, str]) -> FormT:
    """``form`` as ``model``; raises :class:`PayloadInvalid` naming what is wrong."""
    try:
        return model.model_validate(form)
    except ValidationError as exc:
        raise PayloadInvalid(_reason(model.__name__, exc)) from None


class StreamParameters(BaseModel):
    """The ``<Parameter>``s the server put in its TwiML, as the stream hands them back."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    campaign: ShortText
    caller: PhoneNumber
    token: ShortText
    direction: Literal["inbound", "outbound"] = "inbound"
    caller_name: Annotated[str, StringConstraints(max_length=1024)] | None = None


class StreamStart(BaseModel):
    """The ``start`` block of a Media Stream: which call, which stream, our parameters."""

    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel)

    account_sid: AccountSid
    stream_sid: StreamSid
    call_sid: CallSid
    custom_parameters: StreamParameters


class ConnectedMessage(BaseModel):
    """Twilio's first message on a new stream."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event: Literal["connected"]


class StartMessage(BaseModel):
    """The message that opens the media: after it, audio flows."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event: Literal["start"]
    start: StreamStart


_OPENING = TypeAdapter(
    Annotated[ConnectedMessage | StartMessage, Field(discriminator="event")])


def parse_opening_message(text: str) -> ConnectedMessage | StartMessage:
    """One of the messages a stream must open with; raises :class:`PayloadInvalid`.

    Parsed straight from the text by pydantic, whose JSON reader has a nesting limit, so
    deeply nested input is one more refusal, not a recursion error.
    """
    if len(text) > MAX_MESSAGE_CHARS:
        raise PayloadInvalid("stream message too long")
    try:
        return _OPENING.validate_json(text)
    except ValidationError as exc:
        raise PayloadInvalid(_reason("stream message", exc)) from None
