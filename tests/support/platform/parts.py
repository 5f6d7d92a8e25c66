"""What both kinds of platform share: the test settings and staff token, the embedded
broker, the registered project, and service names."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The embedded broker reaches the tests from here only.
from services.launcher.embedded import EmbeddedKafka as EmbeddedKafka
from services.launcher.embedded import free_port as free_port
from services.runtime import registry
from services.runtime.settings import Settings

STAFF_TOKEN = "staff-token-for-tests-0123456789"
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
TEST_SETTINGS: dict[str, Any] = {
    "environment": "test",
    "kafka_idempotence": False,  # the embedded broker cannot do idempotent producers
    "staff_tokens": (STAFF_TOKEN,),
    "alerting_link_secret": "link-secret-for-tests-0123456789abcdef",
}
"""What every service under test runs with, in this process or as a process."""
IN_PROCESS_SETTINGS: dict[str, Any] = {
    "consumer_retry_base_seconds": 0.05,
    "consumer_session_timeout_ms": 2_000,
    "milestone_tick_seconds": 3600,  # tests tick by hand, with a fake clock
    "insight_tick_seconds": 3600,  # likewise the indicator's watch
}


def settings_for_tests(database_url: str, kafka_bootstrap: str, **overrides: Any) -> Settings:
    return Settings(
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        **(TEST_SETTINGS | IN_PROCESS_SETTINGS | overrides),
    )


@contextlib.contextmanager
def running_broker(log_file: Path | None = None) -> Iterator[EmbeddedKafka]:
    """A fresh embedded broker (memory only), killed afterwards."""
    broker = EmbeddedKafka(log_file=log_file)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass(frozen=True)
class Project:
    """A registered project and its API token."""

    project_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def spec_of(name: str) -> registry.ServiceSpec:
    """The service `name` is a member of (`indicator-2` is a member of indicator)."""
    return registry.service(name.partition("-")[0])
