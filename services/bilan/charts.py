"""The bilan's two figures as inline SVG, drawn here (no library, nothing fetched): the
trajectory chart of a target, and the coverage map (a disc per region at its prefecture,
its area proportional to the population; region outlines under an open licence ship in no
package, docs/metrics.md)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from html import escape

from contracts.catalog import Region
from services.bilan.domain import CoverageLine, Trajectory, long_date, number

COVERED, UNCOVERED, INK, GRID = "#18753c", "#ce0500", "#161616", "#dddddd"
TREND = "#000091"
FONT = 'font-family="DejaVu Sans, Marianne, Arial, sans-serif"'


def _svg(width: int, height: int, title: str, body: Iterable[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" {FONT}>'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{INK}" '
        f'text-anchor="{anchor}">{escape(text)}</text>'
    )


def trajectory_svg(t: Trajectory, as_of: date) -> str:
    """Cumulative people by semester end (dots and line), the linear trajectory from the
    target's start to its value at the horizon (dashed), the value (a rule)."""
    width, height, left, right, top, bottom = 640, 300, 70, 20, 20, 40
    end = max(t.horizon, as_of, t.reached_on or t.horizon)
    span = max(1, (end - t.start).days)
    top_value = max([t.value, *(n for _, n in t.points)]) * 1.1 or 1

    def x(day: date) -> float:
        return left + (day - t.start).days / span * (width - left - right)

    def y(value: float) -> float:
        return height - bottom - value / top_value * (height - top - bottom)

    body = []
    for i in range(5):
        value = top_value * i / 4
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{GRID}"/>'
        )
        body.append(_text(left - 6, y(value) + 4, number(value), 10, "end"))
    for year in range(t.start.year, end.year + 1):
        day = date(year, 1, 1)
        if day >= t.start:
            body.append(_text(x(day), height - bottom + 16, str(year), 10, "middle"))
    body.append(
        f'<line x1="{x(t.start):.1f}" y1="{y(0):.1f}" x2="{x(t.horizon):.1f}" '
        f'y2="{y(t.value):.1f}" stroke="{INK}" stroke-dasharray="6 4"/>'
    )
    body.append(
        f'<line x1="{left}" x2="{width - right}" y1="{y(t.value):.1f}" y2="{y(t.value):.1f}" '
        f'stroke="{UNCOVERED}" stroke-width="1"/>'
    )
    body.append(_text(left + 4, y(t.value) - 4, f"Objectif : {number(t.value)}", 10))
    points = [(t.start, 0), *t.points]
    path = " ".join(f"{x(d):.1f},{y(n):.1f}" for d, n in points)
    body.append(f'<polyline points="{path}" fill="none" stroke="{TREND}" stroke-width="2"/>')
    body += [f'<circle cx="{x(d):.1f}" cy="{y(n):.1f}" r="3" fill="{TREND}"/>' for d, n in t.points]
    if t.reached_on is not None and t.points:
        last_day, last = t.points[-1]
        body.append(
            f'<line x1="{x(last_day):.1f}" y1="{y(last):.1f}" x2="{x(t.reached_on):.1f}" '
            f'y2="{y(t.value):.1f}" stroke="{TREND}" stroke-dasharray="2 3"/>'
        )
    legend = "Trait plein : cumul déclaré ; tirets : trajectoire linéaire ; pointillés : prévision"
    body.append(_text(left, height - 6, legend, 10))
    title = f"Trajectoire : {t.label}, au {long_date(as_of)}"
    return _svg(width, height, title, body)


# Metropolitan France in an equirectangular projection scaled by cos(46.5°); the overseas
# regions in a row of insets beneath.
WEST, EAST, SOUTH, NORTH = -5.5, 10.0, 41.0, 51.5
SCALE = 38.0  # pixels per degree of longitude at 46.5° N


def coverage_svg(coverage: CoverageLine, regions: Mapping[str, Region]) -> str:
    covered = {r.code for r in coverage.covered}
    squeeze = math.cos(math.radians(46.5))
    map_w = (EAST - WEST) * SCALE * squeeze
    map_h = (NORTH - SOUTH) * SCALE
    width, height = int(map_w + 240), int(map_h + 110)
    largest = max((r.population for r in regions.values()), default=1)
    body = []
    overseas = sorted(
        (r for r in regions.values() if not (SOUTH <= r.latitude <= NORTH)),
        key=lambda r: r.insee_code,
    )
    for r in regions.values():
        if r in overseas:
            continue
        cx = 10 + (r.longitude - WEST) * SCALE * squeeze
        cy = 10 + (NORTH - r.latitude) * SCALE
        body += _disc(cx, cy, r, r.insee_code in covered, largest)
    row = map_h + 50
    body.append(_text(10, row - 22, "Outre-mer", 11))
    for i, r in enumerate(overseas):
        body += _disc(
            40 + i * ((width - 40) / max(1, len(overseas))),
            row,
            r,
            r.insee_code in covered,
            largest,
        )
    legend_x = map_w + 30
    body.append(f'<circle cx="{legend_x}" cy="30" r="7" fill="{COVERED}"/>')
    body.append(_text(legend_x + 12, 34, "couverte (un projet y est financé)", 10))
    body.append(f'<circle cx="{legend_x}" cy="52" r="7" fill="{UNCOVERED}"/>')
    body.append(_text(legend_x + 12, 56, "non couverte", 10))
    body.append(_text(legend_x - 7, 80, "Disque placé à la préfecture,", 10))
    body.append(_text(legend_x - 7, 94, "de surface proportionnelle", 10))
    body.append(_text(legend_x - 7, 108, "à la population.", 10))
    return _svg(width, height, "Couverture régionale des projets financés", body)


def _disc(cx: float, cy: float, r: Region, covered: bool, largest: int) -> list[str]:
    radius = 4 + 14 * math.sqrt(r.population / largest)
    colour = COVERED if covered else UNCOVERED
    return [
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius:.1f}" fill="{colour}" '
        f'fill-opacity="0.8" stroke="#ffffff"><title>{escape(r.name)}</title></circle>',
        _text(cx, cy + radius + 10, r.name, 8, "middle"),
    ]
