"""Pure rules of the portal: French formats, statuses as people read them, the coverage map's
categories and the trajectory chart's geometry. No I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

NBSP = "\u00a0"
"""Between thousands and before `%`: French typography, and the line never breaks there."""
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_PERIOD = re.compile(r"^(\d{4})-S([12])$")


def number(value: int) -> str:
    """32340 → "32 340"."""
    return f"{value:,}".replace(",", NBSP)


def percent(ratio: float, *, digits: int = 1) -> str:
    """0.344 → "34,4 %"."""
    return f"{ratio * 100:.{digits}f}".replace(".", ",") + f"{NBSP}%"


def long_date(day: date) -> str:
    """date(2026, 11, 30) → "30 novembre 2026"; the first of a month is "1er"."""
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS[day.month - 1]} {day.year}"


def semester(period: str) -> str:
    """ "2025-S1" → "1er semestre 2025"; anything else is returned as it is."""
    match = _PERIOD.match(period)
    if match is None:
        return period
    year, half = match.groups()
    return f"{'1er' if half == '1' else '2e'} semestre {year}"


def period_end(period: str) -> date:
    """The last day of a semester `YYYY-S1|S2`."""
    match = _PERIOD.match(period)
    if match is None:
        raise ValueError(f"not a semester: {period!r}")
    year, half = int(match.group(1)), match.group(2)
    return date(year, 6, 30) if half == "1" else date(year, 12, 31)


class Badge(StrEnum):
    """The statuses a badge shows, with their DSFR class (`fr-badge--<value>`)."""

    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"
    INFO = "info"
    NEW = "new"


MILESTONE_LABELS: Mapping[str, tuple[str, Badge]] = {
    "pending": ("à venir", Badge.INFO),
    "at_risk": ("à risque", Badge.WARNING),
    "overdue": ("échu", Badge.ERROR),
    "met": ("atteint", Badge.SUCCESS),
    "met_late": ("atteint en retard", Badge.WARNING),
    "cancelled": ("annulé", Badge.NEW),
}


def milestone_label(status: str) -> tuple[str, Badge]:
    return MILESTONE_LABELS.get(status, (status, Badge.INFO))


ALERT_KINDS: Mapping[str, str] = {
    "milestone_at_risk": "jalon à risque",
    "milestone_overdue": "jalon échu",
    "report_overdue": "rapport en retard",
    "commitment_behind": "engagement en retard sur sa trajectoire",
    "target_behind": "cible de fiche en retard",
    "project_stale": "projet sans rapport récent",
    "report_anomaly": "rapport inhabituel",
    "report_returned": "rapport renvoyé au projet pour correction",
}
"""The alert kinds a subscription may filter on, as people read them (a contract test
checks them against alerting's OpenAPI)."""


PROJECT_STATUS: Mapping[str, tuple[str, Badge]] = {
    "active": ("en cours", Badge.INFO),
    "completed": ("terminé", Badge.SUCCESS),
    "abandoned": ("abandonné", Badge.WARNING),
}

DELIVERY_STATUS: Mapping[str, tuple[str, Badge]] = {
    "pending": ("en attente", Badge.INFO),
    "delivered": ("livrée", Badge.SUCCESS),
    "dead": ("abandonnée", Badge.ERROR),
    "cancelled": ("annulée", Badge.NEW),
}


FORECASTS: Mapping[str, str] = {
    "on_track": "au rythme actuel, cible atteinte le {reached}",
    "late": "au rythme actuel, cible atteinte le {reached}, {late} semestre(s) après l'échéance",
    "unreachable": "au rythme actuel, cible hors d'atteinte (aucun progrès récent)",
    "insufficient_data": "prévision impossible : moins de deux semestres déclarés",
}


def forecast(status: str, reached_on: date | None, semesters_late: int | None) -> str:
    """The indicator's forecast as one French sentence."""
    reached = long_date(reached_on) if reached_on else "?"
    return FORECASTS.get(status, status).format(reached=reached, late=semesters_late or 0)


Coordinates = tuple[str, str, str, str | None, str | None]
"""A cell without its count: kind, level, region, sex, audience."""


@dataclass(frozen=True)
class CellChange:
    coordinates: Coordinates
    before: int | None
    after: int | None


def cell_changes(
    before: Mapping[Coordinates, int], after: Mapping[Coordinates, int]
) -> list[CellChange]:
    """What a revision changed: cells added (`before` None), removed (`after` None) or
    recounted, in the order of their coordinates; unchanged cells are left out."""
    return [
        CellChange(key, before.get(key), after.get(key))
        for key in sorted(set(before) | set(after), key=lambda k: tuple(v or "" for v in k))
        if before.get(key) != after.get(key)
    ]


class Coverage(StrEnum):
    """A region on the coverage map of one sheet."""

    DELIVERED = "delivered"
    FUNDED = "funded"
    UNCOVERED = "uncovered"

    @property
    def label(self) -> str:
        return {
            Coverage.DELIVERED: "financée, effectifs déclarés",
            Coverage.FUNDED: "financée, aucun effectif déclaré",
            Coverage.UNCOVERED: "non couverte",
        }[self]


def region_coverage(*, funded: bool, delivered: bool) -> Coverage:
    """Delivered wins (people were counted there); else funded; else uncovered."""
    if delivered:
        return Coverage.DELIVERED
    return Coverage.FUNDED if funded else Coverage.UNCOVERED


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Trajectory:
    """The sheet chart in SVG coordinates: `actual` cumulated per semester end, `expected`
    the linear line from start to horizon, `target` a horizontal line; `ticks` the y labels."""

    width: int
    height: int
    actual: tuple[Point, ...]
    expected: tuple[Point, Point]
    target_y: float
    ticks: tuple[tuple[float, int], ...]
    years: tuple[tuple[float, int], ...]


def cumulative(by_period: Mapping[str, int]) -> list[tuple[str, int]]:
    """Periods in order with their running totals."""
    total, out = 0, []
    for period in sorted(by_period):
        total += by_period[period]
        out.append((period, total))
    return out


def trajectory(
    *,
    start: date,
    horizon: date,
    target: int,
    running: Sequence[tuple[str, int]],
    width: int = 640,
    height: int = 280,
    margin: int = 48,
) -> Trajectory:
    """Places the cumulative series, the expected line and the target on a time axis from
    `start` to `horizon` and a count axis from 0 to the largest of target and actual."""
    span = max((horizon - start).days, 1)
    top = max([target, *(total for _, total in running)]) or 1

    def x(day: date) -> float:
        return round(margin + (width - 2 * margin) * (day - start).days / span, 1)

    def y(value: float) -> float:
        return round(height - margin - (height - 2 * margin) * value / top, 1)

    actual = tuple(Point(x(period_end(p)), y(total)) for p, total in running)
    ticks = tuple((y(top * i / 4), round(top * i / 4)) for i in range(5))
    years = tuple(
        (x(date(year, 1, 1)), year)
        for year in range(start.year + (start.month > 1 or start.day > 1), horizon.year + 1)
    )
    return Trajectory(
        width=width,
        height=height,
        actual=actual,
        expected=(Point(x(start), y(0)), Point(x(horizon), y(target))),
        target_y=y(target),
        ticks=ticks,
        years=years,
    )


def polyline(points: Iterable[Point]) -> str:
    return " ".join(f"{p.x},{p.y}" for p in points)


_BY_TYPE: Mapping[str, str] = {
    "missing": "Ce champ est obligatoire.",
    "string_too_long": "Ce texte est trop long.",
    "list_too_short": "Choisissez au moins un élément.",
    "int_parsing": "Un nombre entier est attendu.",
    "int_type": "Un nombre entier est attendu.",
    "date_parsing": "Une date est attendue.",
    "date_from_datetime_parsing": "Une date est attendue.",
    "date_type": "Une date est attendue.",
    "greater_than": "Cette valeur est trop petite.",
    "greater_than_equal": "Cette valeur est trop petite.",
    "less_than_equal": "Cette valeur est trop grande.",
    "string_pattern_mismatch": "Ce format n'est pas reconnu.",
    "literal_error": "Cette valeur n'est pas reconnue.",
    "enum": "Cette valeur n'est pas reconnue.",
    "union_tag_invalid": "Cette valeur n'est pas reconnue.",
}
_BY_MESSAGE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (
            r"region (\w+) is not one of the project's regions",
            "la région {0} n'est pas une région déclarée du projet",
        ),
        (r"alternance \((\d+)\) exceeds trained", "l'alternance ({0}) dépasse les formés"),
        (r"duplicates row (\d+)", "cette cellule répète la ligne {0}"),
        (r"unknown level '([^']*)'", "niveau « {0} » inconnu"),
        (r"unknown region '([^']*)'", "région « {0} » inconnue (code INSEE à deux chiffres)"),
        (r"unknown audience '([^']*)'", "public « {0} » inconnu"),
        (r"period (\S+) has not begun", "ce semestre n'a pas commencé"),
        (r"end_date must be after start_date", "la fin doit suivre le début"),
        (r"completed_on is in the future", "cette date est dans le futur"),
        (r"regions must not repeat", "une région est indiquée deux fois"),
    )
)


def french_error(kind: str, message: str) -> str:
    """An API's validation message (pydantic `type` and `msg`, in English) as the portal
    shows it; an unknown rule keeps the API's words."""
    if kind == "string_too_short":
        return (
            "Ce champ est obligatoire." if "at least 1 " in message else "Ce texte est trop court."
        )
    if kind in _BY_TYPE:
        return _BY_TYPE[kind]
    for pattern, french in _BY_MESSAGE:
        if (found := pattern.search(message)) is not None:
            sentence = french.format(*found.groups())
            return sentence[0].upper() + sentence[1:] + "."
    return message.removeprefix("Value error, ")
