"""The bilan in Markdown, HTML (Jinja2 templates beside this file) or PDF (WeasyPrint, from
the HTML: the figures are inline SVG, no resource is fetched)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from contracts.catalog import Catalog
from services.bilan.charts import coverage_svg, trajectory_svg
from services.bilan.domain import Bilan, long_date, number, percent


class BilanFormat(StrEnum):
    MD = "md"
    HTML = "html"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return {
            BilanFormat.MD: "text/markdown; charset=utf-8",
            BilanFormat.HTML: "text/html; charset=utf-8",
            BilanFormat.PDF: "application/pdf",
        }[self]


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("services.bilan", "templates"),
        autoescape=select_autoescape(["html"]) if autoescape else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(number=number, percent=percent, long_date=long_date, cell=_cell)
    if autoescape:
        env.filters["cell"] = str  # escaping does it
    return env


def _cell(text: str) -> str:
    """Text in a Markdown table cell: a `|` would end the cell, a newline the row."""
    return re.sub(r"[\r\n]+", " ", str(text)).replace("|", "\\|")


_HTML, _TEXT = _environment(True), _environment(False)


def render(bilan: Bilan, catalog: Catalog, fmt: BilanFormat) -> bytes:
    context: dict[str, Any] = {
        "b": bilan,
        "kinds": {"trained": "formés", "sensitised": "sensibilisés"},
    }
    if fmt is BilanFormat.MD:
        return _TEXT.get_template("bilan.md").render(context).encode()
    context |= {
        "coverage_svg": coverage_svg(bilan.coverage, catalog.regions),
        "trajectory_svg": (
            trajectory_svg(bilan.trajectory, bilan.as_of) if bilan.trajectory else None
        ),
    }
    html = _HTML.get_template("bilan.html").render(context)
    if fmt is BilanFormat.HTML:
        return html.encode()
    from weasyprint import HTML  # imported on use: it loads Pango, which md and html need not

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
