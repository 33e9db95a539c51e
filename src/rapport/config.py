"""One Settings object, read from RAPPORT_* environment variables (and .env) once at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

AIProviderName = Literal["local", "dify", "coze", "openai"]
ModerationAction = Literal["block", "nudge", "mask", "flag", "warn", "none"]
DEV_SECRET = "dev-only-insecure-secret-change-me-0123456789"  # noqa: S105 (refused in production)


class Settings(BaseSettings):
    """Every tunable of a Rapport node. `.env.example` documents each field."""

    model_config = SettingsConfigDict(
        env_prefix="RAPPORT_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str = ""
    log_level: str = "INFO"
    log_json: bool = False
    gc_tuning: bool = True
    # Log the main thread's stack when the event loop has not ticked for this long (0 = off).
    loop_stall_log_ms: int = Field(default=0, ge=0)
    ws_compression: bool = False
    # The built web client served at / (None = the repository's web/dist).
    web_dist: Path | None = None

    secret_key: SecretStr = SecretStr(DEV_SECRET)
    jwt_audience: str = "rapport"
    jwt_issuer: str = "rapport"
    access_token_ttl_s: int = Field(default=900, ge=30, le=900)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=300)

    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_memory_kib: int = Field(default=19456, ge=19456)
    argon2_parallelism: int = Field(default=1, ge=1)

    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_account_window_s: int = Field(default=900, ge=1)
    login_max_attempts_per_ip: int = Field(default=30, ge=1)
    login_ip_window_s: int = Field(default=300, ge=1)
    register_max_per_ip: int = Field(default=10, ge=1)
    register_ip_window_s: int = Field(default=3600, ge=1)
    location_updates_per_hour: int = Field(default=10, ge=1)
    trusted_proxies: list[str] = Field(default_factory=list)

    location_grid_km: float = Field(default=2.0, ge=0.5, le=50)
    discovery_max_distance_km: int = 100
    discovery_candidate_pool: int = 500

    cors_origins: list[str] = Field(default_factory=list)

    send_rate_per_s: float = Field(default=2.0, gt=0)
    send_burst: int = Field(default=20, ge=1)
    # Group commit: while sends keep arriving together, wait this long for company before
    # committing a batch (0: never wait). See rapport.chat.batcher.
    send_commit_linger_ms: float = Field(default=3.0, ge=0, le=50)
    socket_recheck_s: float = Field(default=2.0, gt=0, le=30)
    presence_grace_s: float = Field(default=3.0, ge=0)
    typing_ttl_s: float = Field(default=6.0, gt=0)

    # Moderation (docs/subsystems/moderation.md). Contact policy: a phone number, WeChat/QQ
    # id, email or link in the first N messages of a conversation gets the early action,
    # later ones the later action (block | nudge | mask | flag | warn | none).
    moderation_contact_early_messages: int = Field(default=10, ge=0)
    moderation_contact_early_action: ModerationAction = "block"
    moderation_contact_later_action: ModerationAction = "nudge"
    moderation_reload_s: float = Field(default=2.0, gt=0, le=300)
    moderation_risk_threshold: int = Field(default=60, ge=1, le=100)
    moderation_opener_min_chars: int = Field(default=20, ge=1)
    moderation_opener_max_repeats: int = Field(default=5, ge=1)
    moderation_opener_window_s: int = Field(default=24 * 3600, ge=60)
    moderation_limited_send_rate_per_s: float = Field(default=0.2, gt=0)
    moderation_limited_send_burst: int = Field(default=3, ge=1)
    # Trust limits on conversations a user enters (their first message in one), by tier:
    # new (account younger than trust_new_account_days), established, verified.
    trust_new_account_days: int = Field(default=7, ge=0)
    trust_new_conversations_per_day: int = Field(default=10, ge=1)
    trust_established_conversations_per_day: int = Field(default=30, ge=1)
    trust_verified_conversations_per_day: int = Field(default=60, ge=1)
    trust_new_first_messages_per_hour: int = Field(default=4, ge=1)
    trust_established_first_messages_per_hour: int = Field(default=10, ge=1)
    trust_verified_first_messages_per_hour: int = Field(default=20, ge=1)

    # AI: which provider serves each capability; remote ones fall back to local on any failure.
    ai_route_analysis: AIProviderName = "local"
    ai_route_replies: AIProviderName = "local"
    ai_route_icebreaker: AIProviderName = "local"
    ai_route_enhance: AIProviderName = "local"
    ai_route_health: AIProviderName = "local"
    ai_timeout_s: float = Field(default=8.0, gt=0, le=120)
    ai_user_prefix: str = "rapport-"
    ai_stall_after_s: int = Field(default=24 * 3600, ge=60)
    ai_stall_check_s: float = Field(default=300.0, gt=0)
    ai_dify_base_url: str = "https://api.dify.ai"
    ai_dify_enhancer_key: SecretStr = SecretStr("")
    ai_dify_icebreaker_key: SecretStr = SecretStr("")
    ai_dify_chat_key: SecretStr = SecretStr("")
    ai_dify_mode: Literal["blocking", "streaming"] = "blocking"
    ai_coze_base_url: str = "https://api.coze.com"
    ai_coze_token: SecretStr = SecretStr("")
    ai_coze_bot_id: str = ""
    ai_coze_mode: Literal["stream", "poll"] = "stream"
    ai_openai_base_url: str = "http://localhost:11434/v1"
    ai_openai_api_key: SecretStr = SecretStr("ollama")
    ai_openai_model: str = ""

    # Workflows: outbox → signed webhooks (n8n), inbound automation API, durable jobs.
    # true = `rapport serve` also runs the outbox dispatcher and the scheduler; set false on
    # API nodes of a cluster that runs `rapport worker` instead.
    workers_in_process: bool = True
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_events: list[str] = Field(default_factory=list)
    webhook_allowed_hosts: list[str] = Field(default_factory=list)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=12, ge=1, le=50)
    webhook_backoff_s: float = Field(default=5.0, gt=0)
    webhook_backoff_max_s: float = Field(default=6 * 3600.0, gt=0)
    webhook_concurrency: int = Field(default=8, ge=1, le=64)
    dispatch_poll_s: float = Field(default=1.0, gt=0, le=60)
    scheduler_poll_s: float = Field(default=1.0, gt=0, le=60)
    followup_after_s: int = Field(default=24 * 3600, ge=60)

    # Web Push (VAPID, RFC 8292): an empty private key turns push off; `rapport vapid` mints a
    # pair. The public key is derived when empty; endpoints must be https unless their host is
    # in push_allowed_http_hosts (tests: ["127.0.0.1"]).
    vapid_private_key: SecretStr = SecretStr("")
    vapid_public_key: str = ""
    vapid_subject: str = ""
    push_ttl_s: int = Field(default=24 * 3600, ge=0, le=28 * 24 * 3600)
    push_timeout_s: float = Field(default=10.0, gt=0, le=60)
    push_allowed_http_hosts: list[str] = Field(default_factory=list)

    @field_validator("database_url")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @field_validator("web_dist", mode="before")
    @classmethod
    def _blank_is_default(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @model_validator(mode="after")
    def _production_guards(self) -> Settings:
        if self.env == "production":
            secret = self.secret_key.get_secret_value()
            if secret == DEV_SECRET or len(secret) < 32:
                raise ValueError(
                    "RAPPORT_SECRET_KEY must be set to a random value of at least 32 characters "
                    "when RAPPORT_ENV=production"
                )
            if "*" in self.cors_origins:
                raise ValueError("RAPPORT_CORS_ORIGINS may not contain '*' in production")
        return self

    @model_validator(mode="after")
    def _webhook_secret(self) -> Settings:
        from rapport.workflows.signing import is_valid_secret

        if self.webhook_url and not is_valid_secret(self.webhook_secret.get_secret_value()):
            raise ValueError(
                "RAPPORT_WEBHOOK_SECRET must be 'whsec_' + base64 of 24-64 random bytes when "
                "RAPPORT_WEBHOOK_URL is set (`rapport webhook-secret` prints one)"
            )
        return self

    @model_validator(mode="after")
    def _vapid(self) -> Settings:
        if self.vapid_private_key.get_secret_value().strip():
            from rapport.notifications.vapid import load

            secret = self.vapid_private_key.get_secret_value()
            load(secret, self.vapid_public_key, self.vapid_subject)
        elif self.vapid_public_key.strip():
            raise ValueError("RAPPORT_VAPID_PUBLIC_KEY is set without RAPPORT_VAPID_PRIVATE_KEY")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'rapport.db').as_posix()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
