"""One settings class for every service: environment (prefix `CMA_`) → Settings → app factory."""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.runtime.registry import PROCESSES, SERVICES


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CMA_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/cma",
        description="The owner role's URL: `cma migrate` and `cma replay` create the schemas "
        "with it; a service uses it unless its own `CMA_<SERVICE>_DATABASE_URL` is set.",
    )
    database_urls: dict[str, str] = Field(
        default_factory=dict,
        description="A service's own role, confined to its schema, from "
        '`CMA_<SERVICE>_DATABASE_URL` (docs/operations.md, "One database role per service").',
    )
    database_pool_size: int = Field(
        default=20, ge=1, description="Database connections per process, opened as needed."
    )
    database_statement_timeout_ms: int = Field(
        default=60_000, ge=0, description="Longest statement (`statement_timeout`); 0: none."
    )
    database_idle_in_transaction_timeout_ms: int = Field(
        default=15_000, ge=0, description="Ends a session idle in a transaction, freeing its locks."
    )
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_idempotence: bool = Field(
        default=True,
        description="On for Apache Kafka; off for the embedded broker (no InitProducerId).",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How every Kafka client connects (TLS, SASL, both)."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="For the SASL protocols (Strimzi's scram-sha-512)."
    )
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(
        default=None, description="PEM file of the CA the brokers' certificates chain to."
    )
    kafka_ssl_certfile: str | None = Field(
        default=None, description="PEM client certificate, for mutual TLS (Strimzi `tls` users)."
    )
    kafka_ssl_keyfile: str | None = Field(default=None, description="Its private key (PEM).")
    kafka_create_topics: bool = Field(
        default=True,
        description="Services create missing topics at start; off where `cma topics` made them "
        "(a service then needs no CREATE right on the cluster).",
    )
    staff_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    http_host: str = "127.0.0.1"
    http_workers: int = Field(
        default=1, ge=1, description="Processes per replica (`cma serve`), each a full service."
    )
    ports: dict[str, int] = Field(
        default_factory=dict,
        description="Each registered process's HTTP port, from `CMA_<NAME>_PORT`.",
    )
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Where the portal and `cma bilan` reach each service, from "
        "`CMA_<SERVICE>_URL`; by default http://127.0.0.1 on the service's port.",
    )
    portal_session_minutes: int = Field(
        default=120, ge=1, description="A portal session unused for this long signs out."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus must send for /metrics; unset: /metrics is open.",
    )
    max_body_bytes: int = Field(default=2_000_000, description="Larger request bodies get 413.")
    rate_limit_per_minute: int = Field(
        default=600, ge=1, description="Requests per bearer token and minute, per replica (429)."
    )
    rate_limit_burst: int = Field(
        default=120, ge=1, description="Requests a token may send at once before the rate applies."
    )
    max_concurrent_requests: int = Field(
        default=64, ge=1, description="Requests in flight per replica; beyond, 503 at once."
    )
    consumer_max_attempts: int = Field(default=5, ge=1, description="Tries before a dead letter.")
    consumer_retry_base_seconds: float = 0.2
    consumer_batch_records: int = 500
    consumer_wait_ms: int = Field(
        default=20,
        ge=1,
        description="Longest wait on the broker for records, and for a batch, of a consumer "
        "whose readers wait for what it applies (the indicator's reports).",
    )
    consumer_quiet_wait_ms: int = Field(
        default=250, ge=1, description="The same wait for every other consumer."
    )
    consumer_session_timeout_ms: int = Field(
        default=10_000, ge=1_000, description="Group session; a new member waits about half of it."
    )
    consumer_lag_seconds: float = Field(
        default=10.0, gt=0, description="How often the consumer lag is asked of the broker."
    )
    metrics_pause_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Longest pause between two rebuilds of the families served from memory "
        "(the pause is three times the last rebuild's duration, at most this).",
    )
    metrics_national_pause_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Least pause between two rebuilds of indicator's national families.",
    )
    outbox_poll_seconds: float = 0.05
    outbox_batch_rows: int = 500
    outbox_lease_seconds: float = Field(
        default=10.0,
        gt=0,
        description="One relay per outbox; a stalled one is replaced after this.",
    )
    milestone_at_risk_days: int = Field(
        default=30, ge=0, description="A milestone due within this many days may be at risk."
    )
    milestone_tick_seconds: float = Field(default=60.0, gt=0, description="Evaluation period.")
    report_grace_days: int = Field(
        default=60, ge=0, description="Days after a semester's end before its report is overdue."
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_sender: str = "alertes-cma@localhost"
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhook URLs on private or loopback addresses (tests)."
    )
    alert_group_wait_seconds: float = Field(default=30.0, ge=0)
    alerting_link_secret: SecretStr | None = Field(
        default=None,
        description="Signs e-mails' unsubscribe links; unset outside production: one per process.",
    )
    alerting_public_url: str | None = Field(
        default=None,
        description="Alerting's address as e-mail readers reach it (unsubscribe links).",
    )
    delivery_max_attempts: int = Field(default=5, ge=1)
    delivery_backoff_base_seconds: float = Field(default=1.0, gt=0)
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    delivery_lease_seconds: float = Field(
        default=60.0, gt=0, description="A claimed delivery not recorded by then is claimed again."
    )
    trajectory_tolerance: float = Field(
        default=0.10, ge=0, le=1, description="Behind = progress below expected by more than this."
    )
    # Insight (docs/insight.md): forecasts, alert conditions, checks on arrival.
    forecast_window_semesters: int = Field(
        default=4, ge=2, le=20, description="Cumulative points the forecast's pace is fitted on."
    )
    stale_semesters: int = Field(
        default=1, ge=0, description="project_stale: more closed semesters unreported than this."
    )
    anomaly_revision_share: float = Field(
        default=0.5, gt=0, description="revision_swing: a revision moving its total by more."
    )
    anomaly_spike_factor: float = Field(
        default=5.0, gt=1, description="semester_spike: above this × the project's median."
    )
    anomaly_alternance_share: float = Field(
        default=0.8, gt=0, le=1, description="alternance_share: alternance above this of trained."
    )
    insight_tick_seconds: float = Field(
        default=300.0, gt=0, description="How often the indicator evaluates alert conditions."
    )

    @model_validator(mode="before")
    @classmethod
    def _split_tokens(cls, data: dict[str, object]) -> dict[str, object]:
        raw = data.get("staff_tokens")
        if isinstance(raw, str):
            data["staff_tokens"] = tuple(t.strip() for t in raw.split(",") if t.strip())
        return data

    @model_validator(mode="before")
    @classmethod
    def _service_ports(cls, data: dict[str, object]) -> dict[str, object]:
        """`CMA_<SERVICE>_PORT` (or `<service>_port=` given directly) for each service of the
        registry, else its default port."""
        raw = data.get("ports")
        given: dict[str, object] = dict(raw) if isinstance(raw, dict) else {}
        for spec in PROCESSES:
            value = data.pop(f"{spec.name}_port", None) or os.environ.get(spec.port_variable)
            given.setdefault(spec.name, value if value is not None else spec.default_port)
        data["ports"] = given
        return data

    @model_validator(mode="after")
    def _service_urls(self) -> Settings:
        """`CMA_<SERVICE>_URL` for each service, else 127.0.0.1 on its port."""
        for spec in SERVICES:
            url = os.environ.get(f"CMA_{spec.name.upper()}_URL") or (
                f"http://127.0.0.1:{self.port(spec.name)}"
            )
            self.service_urls.setdefault(spec.name, url.rstrip("/"))
        return self

    @model_validator(mode="after")
    def _service_database_urls(self) -> Settings:
        """`CMA_<SERVICE>_DATABASE_URL` for each service that has its own role."""
        for spec in SERVICES:
            url = os.environ.get(f"CMA_{spec.name.upper()}_DATABASE_URL")
            if url:
                self.database_urls.setdefault(spec.name, url)
        return self

    def service_database_url(self, service: str) -> str:
        """The URL `service` connects with: its own role's, else the owner's."""
        return self.database_urls.get(service, self.database_url)

    def port(self, service: str) -> int:
        return self.ports[service]

    def fetch_wait_ms(self, prompt: bool) -> int:
        """A consumer's longest wait on the broker for records and for a batch to fill (the
        embedded broker answers an empty fetch only when it ends: docs/performance.md, B4)."""
        return self.consumer_wait_ms if prompt else self.consumer_quiet_wait_ms

    @model_validator(mode="after")
    def _a_lease_outlasts_an_attempt(self) -> Settings:
        if self.delivery_lease_seconds <= self.delivery_timeout_seconds:
            raise ValueError("CMA_DELIVERY_LEASE_SECONDS must exceed CMA_DELIVERY_TIMEOUT_SECONDS")
        return self

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Settings:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                "CMA_KAFKA_SASL_USERNAME and CMA_KAFKA_SASL_PASSWORD must be set for "
                f"CMA_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol}"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.environment == "production" and not self.staff_tokens:
            raise ValueError("CMA_STAFF_TOKENS must be set in production")
        if any(len(t.get_secret_value()) < 16 for t in self.staff_tokens):
            raise ValueError("every staff token must be at least 16 characters")
        link = self.alerting_link_secret
        if self.environment == "production" and (link is None or not self.alerting_public_url):
            raise ValueError(
                "CMA_ALERTING_LINK_SECRET and CMA_ALERTING_PUBLIC_URL must be set in production"
            )
        if link is not None and len(link.get_secret_value()) < 32:
            raise ValueError("CMA_ALERTING_LINK_SECRET must be at least 32 characters")
        return self
