"""The indicator's alert conditions (commitment_behind, target_behind, project_stale) fire
once and resolve once, through condition.changed events, alerting and a real webhook."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from tests.support.data import cell, report_body
from tests.support.platform import STAFF, Platform
from tests.support.waiting import eventually
from tests.support.webhooks import Receiver, subscribed_receiver

pytestmark = pytest.mark.integration

KINDS = ["commitment_behind", "target_behind", "project_stale"]


def statuses(receiver: Receiver) -> dict[tuple[str, str], list[str]]:
    """Each alert's notified statuses, in order, by (kind, subject)."""
    seen: dict[tuple[str, str], list[str]] = defaultdict(list)
    for body in receiver.bodies():
        for alert in body["alerts"]:
            seen[(alert["kind"], alert["subject"])].append(alert["status"])
    return dict(seen)


async def test_each_indicator_condition_fires_once_and_resolves_once(platform: Platform) -> None:
    async with subscribed_receiver(
        platform, "Nuage", {"sheets": ["cloud"], "kinds": KINDS}
    ) as receiver:
        # Registered 2023-01-01, nothing reported by 2025-09-01: behind at the end of 2024-S2
        # and 2025-S1 and today; 5 closed semesters unreported (> 1).
        project = await platform.register()
        await platform.known_everywhere(project)
        watch = platform.app("indicator").state.watch
        await watch.tick()  # (the watch's own first tick may have been first: no count)
        wanted = [
            ("commitment_behind", "formes-fin-projet"),
            ("target_behind", "cloud-bac5"),
            ("project_stale", "reports"),
        ]
        await eventually(
            lambda: _async(statuses(receiver)),
            lambda seen: all(seen.get(k) == ["firing"] for k in wanted),
        )

        r = await platform.intake.post(
            f"/v1/projects/{project.project_id}/reports",
            headers=project.headers,
            json=report_body("2025-S1", cell(count=15_000)),
        )
        assert r.status_code == 201, r.text
        await eventually(
            lambda: platform.indicator.get(
                f"/v1/projects/{project.project_id}/progress", headers=STAFF
            ),
            lambda answer: answer.json()["totals"]["trained"] == 15_000,
        )
        assert await watch.tick() > 0
        await eventually(
            lambda: _async(statuses(receiver)),
            lambda seen: all(seen.get(k) == ["firing", "resolved"] for k in wanted),
        )
        assert await watch.tick() == 0  # nothing changed: nothing emitted again
        assert all(statuses(receiver)[k] == ["firing", "resolved"] for k in wanted)
        severities = {a["kind"]: a["severity"] for b in receiver.bodies() for a in b["alerts"]}
        assert severities == {
            "commitment_behind": "warning",
            "target_behind": "critical",
            "project_stale": "warning",
        }


async def _async(value: Any) -> Any:
    return value
