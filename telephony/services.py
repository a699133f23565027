"""Which speech services a call uses, chosen from its :class:`SpeechConfig`.

``auto`` takes the first provider with a key (STT: Deepgram, then OpenAI; TTS: Cartesia,
ElevenLabs, Deepgram, then OpenAI); with no keys, the offline pair (pocketsphinx and
espeak-ng) runs, so the server works with no accounts at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService

from agent.campaign import Campaign
from telephony.config import SpeechConfig
from telephony.stt_pocketsphinx import (
    PocketsphinxSTTService,
    build_language_model,
    expected_phrases,
)
from telephony.tts_espeak import EspeakTTSService

STT_PROVIDERS = ("deepgram", "openai", "pocketsphinx")
TTS_PROVIDERS = ("cartesia", "elevenlabs", "deepgram", "openai", "espeak")


class ProviderNotConfigured(ValueError):
    """A speech provider was chosen whose key is missing, or no such provider exists."""


@dataclass(frozen=True)
class SpeechChoice:
    """The providers a call will use (names, for logs and the call record)."""

    stt: str
    tts: str


def _key(speech: SpeechConfig, provider: str) -> str | None:
    secret = {
        "deepgram": speech.deepgram_api_key,
        "openai": speech.openai_api_key,
        "cartesia": speech.cartesia_api_key,
        "elevenlabs": speech.elevenlabs_api_key,
    }.get(provider)
    return secret.get_secret_value() if secret is not None else None


def _auto_usable(speech: SpeechConfig, provider: str) -> bool:
    # An OpenAI key with a base URL of its own is for an OpenAI-compatible LLM server,
    # which need not speak or transcribe: "auto" uses OpenAI speech only on OpenAI itself.
    if provider == "openai" and speech.openai_base_url:
        return False
    return _key(speech, provider) is not None


def _pick(choice: str, providers: tuple[str, ...], offline: str, speech: SpeechConfig,
          kind: str) -> str:
    if choice == "auto":
        return next((p for p in providers if p != offline and _auto_usable(speech, p)),
                    offline)
    if choice not in providers:
        raise ProviderNotConfigured(f"unknown {kind} provider {choice!r}; one of {providers}")
    if choice != offline and not _key(speech, choice):
        raise ProviderNotConfigured(f"{kind} provider {choice!r} needs its API key")
    return choice


def choose_speech(speech: SpeechConfig) -> SpeechChoice:
    """The STT and TTS providers this configuration selects (raises on an unusable choice)."""
    return SpeechChoice(
        stt=_pick(speech.stt_provider, STT_PROVIDERS, "pocketsphinx", speech, "STT"),
        tts=_pick(speech.tts_provider, TTS_PROVIDERS, "espeak", speech, "TTS"),
    )


def campaign_phrases(campaign: Campaign, caller_name: str | None = None) -> list[str]:
    """What callers of this campaign are expected to say, for the offline recogniser."""
    words = [campaign.business_name, campaign.agent_name, campaign.name]
    return expected_phrases(words, names=(caller_name or "").split())


def make_stt(
    speech: SpeechConfig, campaign: Campaign, caller_name: str | None = None
) -> STTService:
    """The speech-to-text service for one call of ``campaign`` (with ``caller_name``)."""
    provider = choose_speech(speech).stt
    if provider == "deepgram":
        try:
            from pipecat.services.deepgram.stt import DeepgramSTTService
        except ImportError:  # the Deepgram SDK is an optional extra of pipecat
            raise ProviderNotConfigured(
                "Deepgram STT needs its SDK: pip install 'pipecat-ai[deepgram]==1.14.0'"
            ) from None
        return DeepgramSTTService(api_key=_key(speech, "deepgram") or "")
    if provider == "openai":
        from pipecat.services.openai.stt import OpenAISTTService

        return OpenAISTTService(api_key=_key(speech, "openai"),
                                base_url=speech.openai_base_url)
    model = build_language_model(campaign_phrases(campaign, caller_name))
    return PocketsphinxSTTService(language_model=model)


def make_tts(speech: SpeechConfig) -> TTSService:
    """The text-to-speech service for one call."""
    provider = choose_speech(speech).tts
    voice = speech.tts_voice
    if provider == "cartesia":
        from pipecat.services.cartesia.tts import CartesiaTTSService

        return CartesiaTTSService(
            api_key=_key(speech, "cartesia") or "",
            settings=CartesiaTTSService.Settings(voice=voice) if voice else None)
    if provider == "elevenlabs":
        from pipecat.services.elevenlabs.tts import ElevenLabsTTSService

        return ElevenLabsTTSService(
            api_key=_key(speech, "elevenlabs") or "",
            settings=ElevenLabsTTSService.Settings(voice=voice) if voice else None)
    if provider == "deepgram":
        from pipecat.services.deepgram.tts import DeepgramTTSService

        return DeepgramTTSService(
            api_key=_key(speech, "deepgram") or "",
            settings=DeepgramTTSService.Settings(voice=voice) if voice else None)
    if provider == "openai":
        from pipecat.services.openai.tts import OpenAITTSService

        return OpenAITTSService(api_key=_key(speech, "openai"),
                                base_url=speech.openai_base_url, voice=voice)
    return EspeakTTSService(voice=voice or "en-us")
