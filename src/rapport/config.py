"""One Settings object, read from RAPPORT_* environment variables (and .env) once at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

AIProviderName = Literal["local", "dify", "coze", "openai"]
DEV_SECRET = "dev-only-insecure-secret-change-me-0123456789"  # noqa: S105 (refused in production)


class Settings(BaseSettings):
    """Every tunable of a Rapport node. `.env.example` documents each field."""

    model_config = SettingsConfigDict(env_prefix="RAPPORT_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str = ""
    log_level: str = "INFO"
    log_json: bool = False
    gc_tuning: bool = True
    ws_compression: bool = False

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
    socket_recheck_s: float = Field(default=2.0, gt=0, le=30)
    presence_grace_s: float = Field(default=3.0, ge=0)
    typing_ttl_s: float = Field(default=6.0, gt=0)

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

    @field_validator("database_url")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

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

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'rapport.db').as_posix()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
