"""One settings class for every service: environment (prefix `CMA_`) → Settings → app factory."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CMA_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/cma"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_idempotence: bool = Field(
        default=True,
        description="On for Apache Kafka; off for the embedded broker (no InitProducerId).",
    )
    staff_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    http_host: str = "127.0.0.1"
    intake_port: int = 8001
    indicator_port: int = 8002
    max_body_bytes: int = Field(default=2_000_000, description="Larger request bodies get 413.")
    consumer_max_attempts: int = Field(default=5, ge=1, description="Tries before a dead letter.")
    consumer_retry_base_seconds: float = 0.2
    consumer_batch_records: int = 500
    consumer_session_timeout_ms: int = Field(
        default=10_000, ge=1_000, description="Group session; a new member waits about half of it."
    )
    outbox_poll_seconds: float = 0.05
    outbox_batch_rows: int = 500
    trajectory_tolerance: float = Field(
        default=0.10, ge=0, le=1, description="Behind = progress below expected by more than this."
    )

    @model_validator(mode="before")
    @classmethod
    def _split_tokens(cls, data: dict[str, object]) -> dict[str, object]:
        raw = data.get("staff_tokens")
        if isinstance(raw, str):
            data["staff_tokens"] = tuple(t.strip() for t in raw.split(",") if t.strip())
        return data

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.environment == "production" and not self.staff_tokens:
            raise ValueError("CMA_STAFF_TOKENS must be set in production")
        if any(len(t.get_secret_value()) < 16 for t in self.staff_tokens):
            raise ValueError("every staff token must be at least 16 characters")
        return self
