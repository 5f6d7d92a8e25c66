"""One platform for the whole security battery: every service in-process on real ports, over
the session's real PostgreSQL and one embedded broker, with two projects (A and B) that
every service knows. Tests that need other settings (tight limits, webhooks) start their own
members or platforms."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.runtime import registry
from tests.support.clock import FakeClock
from tests.support.database import count_rows, fetch, truncate_all
from tests.support.platform import Platform, Project, running_broker, settings_for_tests

WRITTEN_BY_HTTP = (
    "intake.projects",
    "intake.reports",
    "intake.periods",
    "intake.milestones",
    "intake.amendments",
    "intake.silenced_checks",
    "intake.outbox",
    "alerting.subscriptions",
    "intake.staff_tokens",
)
"""The tables an HTTP request can write: a refused request must leave them as they were."""


class SharedPlatform(Platform):
    """The platform the security tests share, and its projects A and B."""

    a: Project
    b: Project

    async def rows(self, tables: tuple[str, ...] = WRITTEN_BY_HTTP) -> dict[str, int | str]:
        """Rows of each table, and a digest of the subscriptions when they are among the tables
        (PATCH, DELETE and a new secret change them in place)."""
        counts: dict[str, int | str] = dict(await count_rows(self.database_url, tables))
        if "alerting.subscriptions" not in tables:
            return counts
        digest = await fetch(
            self.database_url,
            "select md5(coalesce(string_agg(s::text, ',' order by s.subscription_id), ''))"
            " from alerting.subscriptions s",
        )
        return counts | {"alerting.subscriptions digest": str(digest[0][0])}


@pytest.fixture(scope="package")
async def platform(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SharedPlatform]:
    await truncate_all(database_url)
    logs = tmp_path_factory.mktemp("security")
    # Limits out of the way (the fuzzers send hundreds of requests a second with one token);
    # test_limits.py sets tight ones on members of its own.
    unlimited = {"rate_limit_per_minute": 10**9, "rate_limit_burst": 10**9}
    with running_broker(logs / "tansu.log") as kafka:
        settings = settings_for_tests(database_url, kafka.bootstrap, **unlimited)
        async with SharedPlatform(settings, FakeClock()) as shared:
            for name in registry.NAMES:
                await shared.start(name)
            shared.a = await shared.register(name="Projet A")
            shared.b = await shared.register(name="Projet B")
            for project in (shared.a, shared.b):
                await shared.known_everywhere(project)
            yield shared
