"""Request bodies the tests share."""

from __future__ import annotations

from typing import Any


def project_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sheet": "cloud",
        "wave": "saison-1",
        "name": "La Tête Dans Le Nuage",
        "lead": "Université Grenoble-Alpes",
        "regions": ["84"],
        "start_date": "2023-01-01",
        "end_date": "2027-12-31",
        "funding_eur": 5_000_000,
        "commitments": [
            {
                "id": "formes-fin-projet",
                "label": "Formés ou certifiés à la fin du projet",
                "selector": {"kind": "trained"},
                "value": 4500,
                "start": "2023-01-01",
                "horizon": "2027-12-31",
            }
        ],
        "milestones": [
            {"milestone_id": "m1", "title": "Ouverture du parcours bac+5", "due_date": "2024-09-01"}
        ],
    }
    return body | overrides


def cell(
    kind: str = "trained", level: str = "bac+5", region: str = "84", count: int = 10, **extra: Any
) -> dict[str, Any]:
    return {"kind": kind, "level": level, "region": region, "count": count, **extra}


def report_body(period: str = "2025-S1", *cells: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"period": period, "cells": list(cells) or [cell()], **extra}
