"""CSV reports fuzzed with Hypothesis: random headers, rows, quoting, separators (`,` `;`),
line ends, BOMs, Windows-1252, bytes that are neither, NUL, huge fields and numbers. Never a
5xx; a refused body writes nothing (intake.reports and intake.outbox unchanged); an accepted
one is stored with exactly its rows, and the indicator's totals end up equal to the sum of the
last accepted report of each period.

Hypothesis runs in a worker thread with a blocking client, while the platform keeps serving
on the test's event loop."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import defaultdict
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.catalog import load_catalog
from tests.security.conftest import SharedPlatform
from tests.support.platform import Project
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

EXAMPLES = 150
COLUMNS = ["kind", "level", "region", "sex", "audience", "count"]
TABLES = ("intake.reports", "intake.outbox")
PERIODS = ["2023-S1", "2024-S2", "2025-S1", "2025-S2"]

counts = st.one_of(
    st.integers(0, 2000).map(str),
    st.integers(-10, 10_000_010).map(str),
    st.sampled_from(["10000000", "10000001", "-0", "007", " 12 ", "+3", "1.5", "1e3", "0x10"]),
    st.sampled_from(["1_000", "٣", "²", "12\u00a0", "NaN", "Infinity", ""]),
    st.integers(13, 6000).map(lambda n: "9" * n),  # past int()'s 4300-digit limit too
)
values = {
    "kind": st.sampled_from(["trained", "sensitised", "alternance", "Trained", "certified", ""]),
    "level": st.sampled_from([*sorted(load_catalog().levels)[:4], "bac+9", ""]),
    "region": st.sampled_from(["84", "93", "84", "11", "99", " 84", ""]),
    "sex": st.sampled_from(["", "F", "M", "X"]),
    "audience": st.sampled_from(["", "", "students", "teachers", "robots"]),
    "count": counts,
}


@st.composite
def csv_bodies(draw: st.DrawFn) -> bytes:
    header = draw(
        st.one_of(
            st.just(COLUMNS),
            st.just(["kind", "level", "region", "count"]),
            st.permutations(COLUMNS),
            st.lists(st.sampled_from([*COLUMNS, "Count", "remarks", ""]), max_size=8),
        )
    )
    if draw(st.booleans()):  # a report that should go through, before any mutation
        header = COLUMNS
        coordinates = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["trained", "sensitised"]),
                    st.sampled_from(sorted(load_catalog().levels)[:4]),
                    st.sampled_from(["84", "93"]),
                    st.sampled_from(["", "F", "M"]),
                ),
                min_size=1,
                max_size=6,
                unique=True,
            )
        )
        rows = [(*c, "", str(draw(st.integers(0, 10_000_000)))) for c in coordinates]
    else:
        rows = draw(
            st.lists(
                st.tuples(*(values.get(column, st.text(max_size=5)) for column in header)),
                max_size=6,
            )
        )
    quote = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    delimiter = draw(st.sampled_from([",", ";"]))
    out = io.StringIO()
    writer = csv.writer(out, quoting=quote, lineterminator=ending, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if draw(st.integers(0, 9)) == 0:  # a row with too many or too few fields, or a stray quote
        text += draw(st.sampled_from(["trained,bac+5,84,,,1,extra\n", "trained\n", '"open\n']))
    encoding = draw(st.sampled_from(["utf-8", "cp1252"]))
    bom = draw(st.sampled_from(["", "\ufeff", "\ufeff\ufeff"])) if encoding == "utf-8" else ""
    body = (bom + text).encode(encoding, errors="replace")
    mutation = draw(st.integers(0, 19))
    if mutation == 0:  # bytes at a random place: often not UTF-8
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]
    elif mutation == 1:
        body = body.replace(b",", b"\x00,", 1)
    elif mutation == 2:  # one field over csv's field size limit (131072)
        body += b'trained,bac+5,84,,,"' + b"1" * 140_000 + b'"\n'
    elif mutation == 3:
        body = draw(st.binary(max_size=200))
    return body


def oracle(body: bytes) -> tuple[int, dict[str, int]]:
    """What an accepted body holds, read independently: its rows and `count` by kind (column
    names in any case; rows with nothing in them are no rows)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode("cp1252")
    header = text.splitlines()[0] if text else ""
    delimiter = ";" if header.count(";") > header.count(",") else ","
    totals: dict[str, int] = defaultdict(int)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    names = [name.strip().lower() for name in next(reader)]
    rows = [dict(zip(names, row, strict=False)) for row in reader if any(f.strip() for f in row)]
    for row in rows:
        totals[row["kind"].strip()] += int(row["count"].strip())
    return len(rows), dict(totals)


# The platform, serving on the main thread meanwhile, draws from `random` (jittered retries).
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_random_csv_bodies_never_get_a_5xx_and_refusals_write_nothing(
    platform: SharedPlatform,
) -> None:
    loop = asyncio.get_running_loop()
    project = await platform.register(name="Projet CSV", regions=["84", "93"], milestones=[])
    await platform.known_everywhere(project)
    latest: dict[str, dict[str, int]] = {}
    outcomes: dict[int, int] = defaultdict(int)

    def rows() -> dict[str, int]:
        return asyncio.run_coroutine_threadsafe(platform.rows(TABLES), loop).result()

    def fuzz() -> None:
        with httpx.Client(base_url=platform.url("intake"), timeout=30) as client:

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(
                body=csv_bodies(),
                period=st.one_of(st.sampled_from(PERIODS), st.just("2031-S1"), st.none()),
                reason=st.one_of(st.none(), st.text(max_size=20)),
            )
            def post_one(body: bytes, period: str | None, reason: str | None) -> None:
                before = rows()
                params = {
                    k: v for k, v in (("period", period), ("reason", reason)) if v is not None
                }
                r = post(client, project, body, params)
                outcomes[r.status_code] += 1
                assert r.status_code < 500, (r.status_code, r.text, body[:300])
                after = rows()
                if r.status_code >= 400:
                    assert after == before, (r.status_code, r.text)
                    assert r.status_code in (413, 422), r.text
                    return
                # One revision; its event, and any arrival-check alerts, in the outbox.
                assert after["intake.reports"] == before["intake.reports"] + 1
                assert after["intake.outbox"] > before["intake.outbox"]
                data_rows, expected = oracle(body)
                assert r.json()["cells"] == data_rows
                assert period is not None
                latest[period] = expected

            post_one()

    await asyncio.to_thread(fuzz)
    assert outcomes[201] > 0 and outcomes[422] > 0, dict(outcomes)  # both sides were reached

    def by_period(progress: dict[str, Any]) -> dict[str, dict[str, int]]:
        return {
            period: {kind: n for kind, n in kinds.items() if n}
            for period, kinds in progress["by_period"].items()
            if any(kinds.values())
        }

    expected = {p: {k: n for k, n in kinds.items() if n} for p, kinds in latest.items()}
    expected = {p: kinds for p, kinds in expected.items() if kinds}

    async def shown() -> dict[str, dict[str, int]] | int:
        r = await platform.indicator.get(
            f"/v1/projects/{project.project_id}/progress", headers=project.headers
        )
        return by_period(r.json()) if r.status_code == 200 else r.status_code

    await eventually(shown, expected, every=0.2, what="the indicator's totals")


def post(
    client: httpx.Client, project: Project, body: bytes, params: dict[str, str]
) -> httpx.Response:
    return client.post(
        f"/v1/projects/{project.project_id}/reports",
        content=body,
        params=params,
        headers={**project.headers, "Content-Type": "text/csv"},
    )
