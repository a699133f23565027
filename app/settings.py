"""Process-wide settings, read from ``BOOKING_AGENT_*`` environment variables and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.config import LLMConfig
from calendar_backend.calendar_follow import FollowSettings
from calendar_backend.google.config import GoogleConfig
from calendar_backend.outlook.config import OutlookConfig
from telephony.config import DiallerConfig, SpeechConfig, TwilioConfig


class Settings(BaseSettings):
    """Everything an operator can set; defaults run fully offline on embedded parts."""

    model_config = SettingsConfigDict(
        env_prefix="BOOKING_AGENT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Storage: unset means an SQLite file under data_dir (the embedded default).
    database_url: str | None = None
    data_dir: Path = Path.home() / ".local" / "share" / "booking-agent"
    # Fernet key encrypting calendar tokens at rest.
    token_key: SecretStr | None = None
    # Signs the console's session cookies; unset, a random one per process (sessions end
    # when the server restarts).
    console_session_secret: SecretStr | None = None

    # Microsoft identity platform and Graph (emulators stand in through these two URLs).
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    microsoft_login_url: str = "https://login.microsoftonline.com"
    microsoft_client_id: str | None = None
    microsoft_client_secret: SecretStr | None = None
    microsoft_tenant: str = "common"
    microsoft_redirect_uri: str = "http://localhost:8765/outlook/callback"
    # Bookings follow the Outlook calendar: a delta sync every this many seconds (the
    # fallback when change notifications cannot reach the server), and the public URL Graph
    # notifies (default: <public_url>/outlook/notifications; unset public_url: no
    # subscriptions, the schedule alone).
    outlook_sync_interval_seconds: float = Field(300.0, gt=0)
    outlook_notification_url: str | None = None
    # A call's first availability read comes from the synced copy when the last sync is at
    # most this many seconds old, saving a Graph request at call start (0: always Graph).
    outlook_synced_fresh_seconds: float = Field(0.0, ge=0)

    # Google OAuth and Calendar API v3 (emulators stand in through these four URLs).
    google_calendar_base_url: str = "https://www.googleapis.com/calendar/v3"
    google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_revoke_url: str = "https://oauth2.googleapis.com/revoke"
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    # Bookings follow the Google calendar: an incremental sync every this many seconds (the
    # fallback when push notifications cannot reach the server), and the public URL Google
    # notifies (default: <public_url>/google/notifications; unset public_url: no channels,
    # the schedule alone).
    google_sync_interval_seconds: float = Field(300.0, gt=0)
    google_notification_url: str | None = None
    # A call's first availability read comes from the synced copy when the last sync is at
    # most this many seconds old, saving a freeBusy request at call start (0: always Google).
    google_synced_fresh_seconds: float = Field(0.0, ge=0)
    google_redirect_uri: str = "http://localhost:8765/google/callback"

    # Telephony.
    public_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_url: str = "https://api.twilio.com"
    # The call server's OpenAPI pages (/docs, /redoc, /openapi.json): off unless wanted.
    api_docs: bool = False
    # Speech providers: "auto" picks the first provider with a key, else the offline pair
    # (pocketsphinx + espeak-ng). STT: deepgram, openai; TTS: cartesia, elevenlabs, openai,
    # deepgram. Voices are provider voice ids.
    stt_provider: str = "auto"
    tts_provider: str = "auto"
    tts_voice: str | None = None
    deepgram_api_key: SecretStr | None = None
    cartesia_api_key: SecretStr | None = None
    elevenlabs_api_key: SecretStr | None = None
    # The agent hangs up after this long without hearing the caller.
    silence_timeout_seconds: float = 20.0
    # Outbound dialling: seconds between placing two calls of a contact list.
    dial_pace_seconds: float = 30.0
    # The dialling queue (``booking-agent worker``): calls started per second on the Twilio
    # account across every worker (Twilio's default is 1), how long a worker may hold a job
    # before dialling it, how long a call may go without a final status before Twilio is
    # asked, and how often an idle worker looks for due jobs.
    dial_cps: float = Field(1.0, gt=0, le=1000)
    dial_cps_margin: float = Field(0.1, ge=0, le=1)
    dial_lease_seconds: float = Field(30.0, gt=0, le=3600)
    dial_confirm_seconds: float = Field(60.0, gt=0, le=3600)
    dial_call_lease_seconds: float = Field(3600.0, gt=0, le=24 * 3600)
    dial_poll_seconds: float = Field(1.0, gt=0, le=60)
    dial_worker_concurrency: int = Field(2, ge=1, le=64)
    # This process's name in metrics and the worker list (default: host-pid).
    instance: str | None = None

    # Dialogue LLM: any OpenAI-compatible server; unset key means the guided policy.
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 8.0

    def sqlalchemy_url(self) -> str:
        """The database URL to use: the configured one, or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'booking-agent.db'}"

    # The small typed configs the lower layers take (they never read settings themselves).

    def outlook(self) -> OutlookConfig:
        """The Microsoft app, endpoints and token key for the Outlook adapter."""
        return OutlookConfig(
            graph_base_url=self.graph_base_url,
            login_url=self.microsoft_login_url,
            client_id=self.microsoft_client_id,
            client_secret=self.microsoft_client_secret,
            tenant=self.microsoft_tenant,
            redirect_uri=self.microsoft_redirect_uri,
            token_key=self.token_key,
            synced_fresh_seconds=self.outlook_synced_fresh_seconds,
        )

    def outlook_follow(self) -> FollowSettings:
        """How Outlook calendars are followed: sync interval and notification URL."""
        url = self.outlook_notification_url
        if url is None and self.public_url:
            url = self.public_url.rstrip("/") + "/outlook/notifications"
        return FollowSettings(interval_seconds=self.outlook_sync_interval_seconds,
                              notification_url=url)

    def google(self) -> GoogleConfig:
        """The Google OAuth client, endpoints and token key for the Google adapter."""
        return GoogleConfig(
            calendar_base_url=self.google_calendar_base_url,
            auth_url=self.google_auth_url,
            token_url=self.google_token_url,
            revoke_url=self.google_revoke_url,
            client_id=self.google_client_id,
            client_secret=self.google_client_secret,
            redirect_uri=self.google_redirect_uri,
            token_key=self.token_key,
            synced_fresh_seconds=self.google_synced_fresh_seconds,
        )

    def google_follow(self) -> FollowSettings:
        """How Google calendars are followed: sync interval and notification URL."""
        url = self.google_notification_url
        if url is None and self.public_url:
            url = self.public_url.rstrip("/") + "/google/notifications"
        return FollowSettings(interval_seconds=self.google_sync_interval_seconds,
                              notification_url=url)

    def llm(self) -> LLMConfig | None:
        """The dialogue's LLM, or None (no key: the guided policy talks)."""
        if self.openai_api_key is None:
            return None
        return LLMConfig(
            api_key=self.openai_api_key.get_secret_value(),
            base_url=self.openai_base_url,
            model=self.openai_model,
            timeout_seconds=self.llm_timeout_seconds,
        )

    def twilio(self) -> TwilioConfig:
        """The Twilio account and the public URL its webhooks reach."""
        return TwilioConfig(
            account_sid=self.twilio_account_sid,
            auth_token=self.twilio_auth_token,
            api_url=self.twilio_api_url,
            public_url=self.public_url,
        )

    def dialler(self) -> DiallerConfig:
        """How dialling workers pace and hold their jobs."""
        return DiallerConfig(
            cps=self.dial_cps, cps_margin=self.dial_cps_margin,
            lease_seconds=self.dial_lease_seconds,
            confirm_seconds=self.dial_confirm_seconds,
            call_lease_seconds=self.dial_call_lease_seconds,
            poll_seconds=self.dial_poll_seconds,
            heartbeat_seconds=max(1.0, min(5.0, self.dial_lease_seconds / 3)),
            concurrency=self.dial_worker_concurrency,
        )

    def speech(self) -> SpeechConfig:
        """The speech providers and their keys."""
        return SpeechConfig(
            stt_provider=self.stt_provider,
            tts_provider=self.tts_provider,
            tts_voice=self.tts_voice,
            deepgram_api_key=self.deepgram_api_key,
            cartesia_api_key=self.cartesia_api_key,
            elevenlabs_api_key=self.elevenlabs_api_key,
            openai_api_key=self.openai_api_key,
            openai_base_url=self.openai_base_url,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
