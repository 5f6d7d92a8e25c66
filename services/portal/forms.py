"""Forms as people fill them, turned into API bodies; the API's 422 `errors` mapped back to
the fields they name (shown beside each field)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.portal.schemas import FieldProblem, Project, Subscription


@dataclass
class FormState:
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def error(self, name: str) -> str | None:
        return self.errors.get(name)


def project_body(values: Mapping[str, object]) -> dict[str, object]:
    """The register form as `POST /v1/projects` takes it."""
    start, end = values.get("start_date") or None, values.get("end_date") or None
    body: dict[str, object] = {
        "sheet": values.get("sheet"),
        "wave": values.get("wave"),
        "name": values.get("name"),
        "lead": values.get("lead"),
        "regions": list(values.get("regions") or []),  # type: ignore[call-overload]
        "start_date": start,
        "end_date": end,
        "funding_eur": _integer(values.get("funding_eur")),
        "commitments": [],
        "milestones": [],
    }
    trained = _integer(values.get("trained"))
    if trained is not None:
        body["commitments"] = [
            {
                "id": "formes",
                "label": "Personnes formées",
                "selector": {"kind": "trained"},
                "value": trained,
                "start": start,
                "horizon": end,
            }
        ]
    if values.get("milestone_title") or values.get("milestone_due"):
        body["milestones"] = [
            {
                "milestone_id": "premier-jalon",
                "title": values.get("milestone_title"),
                "due_date": values.get("milestone_due") or None,
            }
        ]
    return body


def amendment_body(
    current: Project, *, reason: str, name: str, lead: str, end_date: str, regions: list[str]
) -> dict[str, object]:
    """`PATCH /v1/projects/{id}`: the reason, and only the fields that change."""
    body: dict[str, object] = {"reason": reason}
    if name and name != current.name:
        body["name"] = name
    if lead and lead != current.lead:
        body["lead"] = lead
    if end_date and end_date != current.end_date.isoformat():
        body["end_date"] = end_date
    if sorted(regions) != sorted(current.regions):
        body["regions"] = regions
    return body


def subscription_body(
    values: Mapping[str, object], kept: Mapping[str, object] | None = None
) -> dict[str, object]:
    """The subscription form (create or edit) as alerting takes it; `kept`: the filters the
    form does not show (projects, regions); `repeat_seconds`, when the form has it, was
    checked by `repeat_seconds()`."""
    channel = values.get("channel")
    where = "url" if channel == "webhook" else "address"
    body: dict[str, object] = {
        "name": values.get("name"),
        "channel": {"type": channel, where: values.get("target")},
        "filters": {
            "sheets": values.get("sheets") or [],
            "kinds": values.get("kinds") or [],
            "min_severity": values.get("min_severity"),
            **(kept or {}),
        },
    }
    if values.get("repeat_seconds") is not None:
        body["repeat_interval_seconds"] = values["repeat_seconds"]
    return body


REPEAT_MINUTES = (1, 30 * 24 * 60)
"""Alerting's bounds on a repeat interval (60 s to 30 days), in the form's minutes."""


def repeat_seconds(minutes: str) -> int | None:
    """The form's minutes as alerting's seconds; None when they are not a whole number of
    minutes within `REPEAT_MINUTES` (the form then says so, beside the field)."""
    text = minutes.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if not text.isdigit() or not REPEAT_MINUTES[0] <= int(text) <= REPEAT_MINUTES[1]:
        return None
    return int(text) * 60


def subscription_values(sub: Subscription) -> dict[str, object]:
    """A subscription as its edit form shows it."""
    return {
        "name": sub.name,
        "channel": sub.channel.type,
        "target": sub.channel.url or sub.channel.address or "",
        "sheets": sub.filters.sheets,
        "kinds": sub.filters.kinds,
        "min_severity": sub.filters.min_severity,
        "repeat_minutes": str(sub.repeat_interval_seconds // 60),
    }


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_media_type(filename: str | None) -> str | None:
    """What intake is told a report file is, from its name: a workbook or a CSV (whose
    encoding intake finds itself); None for anything else."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        return XLSX
    if name.endswith(".csv"):
        return "text/csv"
    return None


PROJECT_FIELDS = {
    ("commitments",): "trained",
    ("milestones", "title"): "milestone_title",
    ("milestones", "due_date"): "milestone_due",
    ("milestones",): "milestone_title",
}


def field_errors(
    problems: Sequence[FieldProblem], names: Mapping[tuple[str, ...], str] = PROJECT_FIELDS
) -> FormState:
    """`["body", "regions", 0]` → `regions`; nested locations through `names` (the longest
    prefix of its string parts wins); what no field names goes to `general`."""
    state = FormState()
    for problem in problems:
        parts = tuple(str(p) for p in problem.loc[1:] if isinstance(p, str))
        name = next(
            (names[parts[:n]] for n in range(len(parts), 0, -1) if parts[:n] in names),
            parts[0] if parts else None,
        )
        if name is None:
            state.general.append(problem.french)
        else:
            state.errors.setdefault(name, problem.french)
    return state


def _integer(value: object) -> int | object | None:
    """A number as typed (spaces allowed: "32 340"); what is not one goes as typed, for the
    API to name."""
    if value in (None, ""):
        return None
    text = str(value).replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    return int(text) if text.isdigit() else text
