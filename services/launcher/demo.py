"""Demo data through the public HTTP API (never the tables): the programme document's laureates
that name a region, registered by staff, then each reporting 2023-S1..2025-S2 with its own token.

Deterministic for a given seed. Registering is not idempotent, so a state dir marker (or
projects the indicator already knows) makes a second run skip the whole demo.
"""

from __future__ import annotations

import itertools
import random
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from contracts.catalog import Laureate, Sheet, load_catalog

START, END = date(2022, 9, 1), date(2026, 12, 31)
PERIODS = tuple(f"{year}-S{half}" for year in (2023, 2024, 2025) for half in (1, 2))
MARKER = "demo-posted"
Json = dict[str, Any]


class DemoError(RuntimeError):
    pass


def _target(target_id: str, label: str, kind: str, value: int, horizon: date) -> Json:
    dates = {"start": START.isoformat(), "horizon": horizon.isoformat()}
    return {"id": target_id, "label": label, "selector": {"kind": kind}, "value": value} | dates


def project_body(laureate: Laureate) -> Json:
    """The laureate as `POST /v1/projects` takes it: commitments from the document's figures."""
    opening = {
        "milestone_id": "ouverture",
        "title": "Formations ouvertes",
        "due_date": "2023-09-01",
    }
    commitments, milestones = [], [opening]
    if laureate.committed_trained:
        value, mid = laureate.committed_trained, date(2024, 12, 31)
        commitments.append(_target("formes", "Personnes formées", "trained", value, END))
        third = _target("tiers", "Un tiers des formés", "trained", value // 3, mid)
        due = {"due_date": mid.isoformat(), "criterion": third}
        milestones.append({"milestone_id": "tiers", "title": third["label"]} | due)
    if laureate.committed_sensitised:
        value = laureate.committed_sensitised
        commitments.append(_target("sensibilises", "Sensibilisés", "sensitised", value, END))
    fields = ("sheet", "wave", "name", "lead", "regions", "funding_eur")
    return laureate.model_dump(mode="json", include=set(fields)) | {
        "start_date": START.isoformat(),
        "end_date": END.isoformat(),
        "commitments": commitments,
        "milestones": milestones,
    }


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` over `weights` in integers that sum to `total` (largest remainders)."""
    shares = [total * w / sum(weights) for w in weights]
    parts = [int(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: parts[i] - shares[i])
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def reports(laureate: Laureate, sheet: Sheet, rng: random.Random) -> list[Json]:
    """One report per period, counts growing over time toward the commitment (at its own pace:
    some projects ahead of the linear trajectory, most behind)."""
    committed = laureate.committed_trained or rng.randint(300, 1500)
    reached = (date(2025, 12, 31) - START).days / (END - START).days * rng.uniform(0.6, 1.1)
    buckets = rng.sample(sheet.level_buckets, k=min(len(sheet.level_buckets), rng.randint(2, 3)))
    levels = list(dict.fromkeys(rng.choice(bucket.levels) for bucket in buckets))
    women, in_alternance = rng.uniform(0.25, 0.55), rng.uniform(0.1, 0.35)
    sensitised_ratio = (
        laureate.committed_sensitised / committed
        if laureate.committed_sensitised
        else rng.uniform(2, 6)
    )
    coordinates = list(itertools.product(levels, laureate.regions, ("F", "M")))
    weights = [rng.uniform(1, 3) * (women if sex == "F" else 1 - women) for *_, sex in coordinates]
    per_period = _split(round(committed * reached), [2 + i for i in range(len(PERIODS))])
    bodies = []
    for period, trained_total in zip(PERIODS, per_period, strict=True):
        trained = _split(trained_total, weights)
        sensitised = _split(round(trained_total * sensitised_ratio), weights)
        cells = []
        for (level, region, sex), t, s in zip(coordinates, trained, sensitised, strict=True):
            alternance = min(t, round(t * in_alternance * rng.uniform(0.8, 1.2)))
            for kind, count in (("trained", t), ("sensitised", s), ("alternance", alternance)):
                cells.append(
                    {"kind": kind, "level": level, "region": region, "sex": sex, "count": count}
                )
        bodies.append({"period": period, "cells": cells})
    return bodies


def _post(client: httpx.Client, url: str, body: Json, token: str, key: str | None = None) -> Json:
    """POST, retried on 503 (nothing stored) and, with an Idempotency-Key, on lost connections."""
    headers = {"Authorization": f"Bearer {token}"} | ({"Idempotency-Key": key} if key else {})
    for attempt in range(1, 6):
        try:
            response = client.post(url, json=body, headers=headers)
            if response.status_code != 503:
                break
        except httpx.TransportError:
            if key is None or attempt == 5:
                raise
        time.sleep(0.2 * 2**attempt)
    if response.status_code >= 300:
        raise DemoError(f"POST {url}: {response.status_code} {response.text}")
    return dict(response.json())


def _already_posted(client: httpx.Client, indicator_url: str, staff: str, marker: Path) -> bool:
    if marker.exists():
        return True
    answer = client.get(
        f"{indicator_url}/v1/coverage", headers={"Authorization": f"Bearer {staff}"}
    )
    return answer.status_code == 200 and bool(answer.json()["covered"])


DEMO_SUBSCRIPTIONS: tuple[Json, ...] = (
    {
        "name": "SGPI — jalons et rapports en retard",
        "channel": {"type": "email", "address": "suivi-cma@example.org"},
        "filters": {"kinds": ["milestone_overdue", "report_overdue"], "min_severity": "info"},
    },
    {
        "name": "Fiche IA — tout",
        "channel": {"type": "email", "address": "fiche-ia@example.org"},
        "filters": {"sheets": ["ia"]},
    },
)
"""Staff subscriptions, so the portal's subscriber pages show something (the e-mails go to
the SMTP server of the settings; none answers on a bare machine: the log shows the attempts)."""


def post_demo(
    intake_url: str,
    indicator_url: str,
    staff: str,
    state: Path,
    seed: int = 2030,
    *,
    alerting_url: str | None = None,
) -> str:
    """Posts the demo (and, given `alerting_url`, its subscriptions); returns a one-line
    summary."""
    catalog, marker = load_catalog(), state / MARKER
    laureates = [laureate for laureate in catalog.laureates if laureate.regions]
    with httpx.Client(timeout=30) as client:
        if _already_posted(client, indicator_url, staff, marker):
            return (
                f"Demo data: skipped, projects are already registered (marker {marker} or "
                "the indicator's coverage); use a fresh --state-dir for a clean demo."
            )
        marker.write_text(f"demo posted from seed {seed}\n")
        posted = 0
        for laureate in laureates:
            created = _post(client, f"{intake_url}/v1/projects", project_body(laureate), staff)
            project_url = f"{intake_url}/v1/projects/{created['project_id']}"
            token = created["api_token"]
            rng = random.Random(f"{seed}:{laureate.id}")
            for body in reports(laureate, catalog.sheets[laureate.sheet], rng):
                key = f"demo-{laureate.id}-{body['period']}"
                _post(client, f"{project_url}/reports", body, token, key)
                posted += 1
            done = {"completed_on": "2023-09-15"}
            _post(client, f"{project_url}/milestones/ouverture/complete", done, token)
        for subscription in DEMO_SUBSCRIPTIONS if alerting_url else ():
            _post(client, f"{alerting_url}/v1/subscriptions", subscription, staff)
    return (
        f"Demo data: {len(laureates)} projects and {posted} reports posted; the indicator "
        "counts them within seconds."
    )
