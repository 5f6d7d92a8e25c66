"""Indicator's business families kept rendered in memory and updated project by project
(docs/performance.md, B7'): the text `business_families` renders, byte for byte, for the work
of the projects that changed instead of all of them.

The per-project families (`project_families`: people by kind, commitments' progress; linear
in projects and commitments) are kept as each project's own sample lines, rendered by
`generate_latest` as a whole page renders them, and assembled in the page's order. Projects
are recomputed when:
- a batch of this replica names them (`RenderedFamilies.touch`, after its commit);
- their fingerprint changed (`IndicatorQueries.fingerprints`), checked every
  `SWEEP_SECONDS`: the batches other replicas apply;
- the date changed: commitments' expected share and freshness follow the date, so all of them
  (a full rebuild, also the first one).

The national families (bounded by the catalog, but aggregated over every cell: the larger
part of a rebuild once projects are incremental) are recomputed by their own loop
(`run_national`), after the projects changed and at least every `SWEEP_SECONDS`, never
sooner than `national_pause_seconds` after the previous time: a batch's projects show without
waiting for them, and they cost a bounded share of a core under constant ingestion. Once both
are done the page is the one a full rebuild renders.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric

from services.indicator.domain import Reading
from services.indicator.figures import Figures, ProjectSummary
from services.indicator.metrics import (
    Staleness,
    national_families,
    project_families,
    staleness_of,
    with_reading,
)
from services.runtime.metrics import RenderedFamilies, SnapshotCollector
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

SWEEP_SECONDS = RenderedFamilies.MAX_AGE_SECONDS
INCREMENTAL_AT_MOST = 2_000
"""Above this many changed projects, recompute them all: as fast, and no long id lists."""
RECOMPUTE_AT_ONCE = 250
"""The most projects read and rendered at a time: a full recompute's peak (their summaries,
families and pages) stays bounded instead of growing with the projects, and so does what the
allocator keeps of it (docs/performance.md, B8's memory)."""


Slot = tuple[str, Reading]
"""A per-project family in one reading: the page shows them in `BusinessText.slots`' order."""


@dataclass(frozen=True, slots=True)
class _Project:
    """One active project's part of the per-project families: kept for every project, so a
    tuple of bytes rather than a dict (docs/performance.md, B8's memory)."""

    order: tuple[str, str]  # (sheet, id): how a family's samples are sorted
    staleness: Staleness
    lines: tuple[bytes, ...]  # its sample lines in each slot, in `BusinessText.slots`' order


def kept_in_memory(figures: Figures, settings: Settings) -> tuple[BusinessText, RenderedFamilies]:
    """The business families `/metrics` serves from memory, updated for the projects of the
    batches applied (docs/performance.md, B7'), and the text they are rendered by."""
    text = BusinessText(figures, settings.metrics_national_pause_seconds)
    families = RenderedFamilies(text.render, settings.metrics_pause_seconds)
    text.refreshed = families.touch  # new national families: assemble the page again
    return text, families


class BusinessText:
    """`render` for `RenderedFamilies`: the keys it is given are project ids. `refreshed` is
    called when the national part changed (the page is then to be assembled again)."""

    def __init__(self, figures: Figures, national_pause_seconds: float) -> None:
        self.figures, self.national_pause_seconds = figures, national_pause_seconds
        self.refreshed: Callable[[], None] = lambda: None
        self.national: bytes | None = None  # the national families, rendered
        self.national_at = -math.inf  # monotonic time their computation started
        self._national_due = asyncio.Event()
        self.projects: dict[UUID, _Project] = {}
        self.fingerprints: dict[UUID, str] = {}
        self.today: date | None = None  # the date the projects kept were computed at
        self.swept_at = -math.inf
        self.recomputed = 0  # projects recomputed by the last render
        self.full = False  # whether it recomputed them all
        self.headers = _headers(project_families([]))
        self.slots: tuple[Slot, ...] = tuple((n, r) for n, _ in self.headers for r in Reading)

    async def render(self, touched: set[Hashable]) -> bytes:
        # The national part as it is now: not newer than the projects brought up to date below
        # (those of the batches committed before this render), which a page would otherwise
        # show for a moment when the national loop finishes meanwhile.
        national = self.national
        today = self.figures.clock().date()
        changed: set[UUID] | None = None
        if today == self.today:
            changed = {key for key in touched if isinstance(key, UUID)}
            if time.monotonic() - self.swept_at >= SWEEP_SECONDS:
                changed |= await self._sweep()
            if len(changed) > INCREMENTAL_AT_MOST:
                changed = None
        await self._recompute(changed, today)
        if self.recomputed:
            self._national_due.set()
        if time.monotonic() - self.national_at > 2 * SWEEP_SECONDS + self.national_pause_seconds:
            await self.refresh_national()  # never built, or its loop is not running (yet)
            national = self.national
        # Assembling is CPU-bound (proportional to the series): off the event loop.
        return await asyncio.to_thread(self._page, national)

    async def refresh_national(self) -> None:
        self.national_at = time.monotonic()
        staleness = [p.staleness for p in self.projects.values()]
        families = await national_families(self.figures, staleness)
        self.national = await asyncio.to_thread(_rendered, families)

    async def run_national(self) -> None:
        """A background loop of the service, beside `RenderedFamilies.run`."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._national_due.wait(), SWEEP_SECONDS)
            self._national_due.clear()
            try:
                await self.refresh_national()
                self.refreshed()
            except Exception:  # the database may be away: serve the last rendering meanwhile
                log.exception("national metric families not rebuilt")
            await asyncio.sleep(self.national_pause_seconds)

    async def _sweep(self) -> set[UUID]:
        """The projects whose fingerprint differs from the one they were computed with, or
        that appeared or went away."""
        self.swept_at = time.monotonic()
        now = await self.figures.queries.fingerprints()
        gone = (self.projects.keys() | self.fingerprints.keys()) - now.keys()
        return gone | {p for p, f in now.items() if self.fingerprints.get(p) != f}

    async def _recompute(self, changed: set[UUID] | None, today: date) -> None:
        """`changed` projects (None: all) from the database. Fingerprints are read first, so
        a change committed meanwhile is found again by the next sweep, never lost."""
        self.recomputed, self.full = 0, changed is None
        if changed is not None and not changed:
            return
        if changed is None:
            self.swept_at = time.monotonic()  # a full recompute is a sweep
        q = self.figures
        fingerprints = await q.queries.fingerprints(changed)
        ids = sorted(fingerprints if changed is None else changed)
        fresh: dict[UUID, _Project] = {}
        for start in range(0, len(ids), RECOMPUTE_AT_ONCE):
            chunk = ids[start : start + RECOMPUTE_AT_ONCE]
            summaries = [(r, await q.project_summaries(r, chunk)) for r in Reading]
            fresh |= await asyncio.to_thread(_render_projects, summaries, self.slots)
        if changed is None:
            self.projects, self.fingerprints = {}, {}
        else:
            for project_id in changed:  # those no longer active stay out
                self.projects.pop(project_id, None)
                self.fingerprints.pop(project_id, None)
        self.projects.update(fresh)
        self.fingerprints.update(fingerprints)
        self.today = today if changed is None else self.today
        self.recomputed = len(fresh)

    def page(self) -> bytes:
        """The page `business_families` renders, from the parts kept now."""
        return self._page(self.national)

    def _page(self, national: bytes | None) -> bytes:
        """Each per-project family's samples in both readings, the projects in order, then
        the national families."""
        ordered = sorted(self.projects.values(), key=lambda p: p.order)
        parts: list[bytes] = []
        n = len(Reading)  # a family's slots follow one another, one per reading
        for f, (_, header) in enumerate(self.headers):
            parts.append(header)
            for slot in range(f * n, (f + 1) * n):
                parts.extend(p.lines[slot] for p in ordered)
        parts.append(national or b"")
        return b"".join(parts)


def _render_projects(
    summaries: Sequence[tuple[Reading, Collection[ProjectSummary]]], slots: Sequence[Slot]
) -> dict[UUID, _Project]:
    """Each project's sample lines of every per-project family, in either reading: the families
    of all of them rendered at once, then each line given to the project it names (a gauge's
    sample is one line)."""
    lines: dict[UUID, dict[Slot, list[bytes]]] = {}
    for reading, projects in summaries:
        for family in with_reading([(reading, project_families(list(projects)))]):
            page = _rendered([family]).splitlines(keepends=True)
            samples = [line for line in page if not line.startswith(b"#")]
            for sample, line in zip(family.samples, samples, strict=True):
                mine = lines.setdefault(UUID(sample.labels["project_id"]), {})
                mine.setdefault((family.name, reading), []).append(line)
    as_reported = {s.project.project_id: s for s in dict(summaries)[Reading.AS_REPORTED]}
    staleness = dict(zip(as_reported, staleness_of(as_reported.values()), strict=True))
    return {
        project_id: _Project(
            (summary.project.sheet, str(project_id)),
            staleness[project_id],
            tuple(b"".join(lines.get(project_id, {}).get(slot, ())) for slot in slots),
        )
        for project_id, summary in as_reported.items()
    }


def _headers(families: list[Metric]) -> list[tuple[str, bytes]]:
    """Each family's name and `# HELP`/`# TYPE` lines, as `generate_latest` writes them."""
    return [(f.name, _rendered([Metric(f.name, f.documentation, f.type)])) for f in families]


def _rendered(families: list[Metric]) -> bytes:
    snapshot = SnapshotCollector()
    snapshot.families = families
    return generate_latest(snapshot)
