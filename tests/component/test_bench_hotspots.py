"""bench/hotspots.py reads py-spy's raw profiles: the share of samples each function appears
in, a recursive one counted once per sample, and the samples waiting for I/O apart. (Here,
beside the benchmarks' smoke runs: the mutation run copies tests/unit without bench/.)"""

from __future__ import annotations

from pathlib import Path

from bench.hotspots import hotspots


def test_each_function_counts_once_per_sample_and_waiting_is_counted_apart(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "profile.raw"
    profile.write_text(
        "main (app.py:1);handle (app.py:5);query (db.py:9) 3\n"
        "main (app.py:1);handle (app.py:5);handle (app.py:7) 1\n"
        "main (app.py:1);run (loop.py:2);select (selectors.py:468) 6\n"
    )
    lines = hotspots(profile, top=5).splitlines()
    assert lines[0] == "samples 10, idle (waiting for I/O) 60%, busy 40%"
    assert lines[1:] == [" 40.0%  main (app.py", " 40.0%  handle (app.py", " 30.0%  query (db.py"]


def test_the_filter_keeps_only_the_frames_named(tmp_path: Path) -> None:
    profile = tmp_path / "profile.raw"
    profile.write_text("main (app.py:1);query (db.py:9) 2\nmain (app.py:1) 2\n")
    assert hotspots(profile, top=5, contains="db.py").splitlines()[1:] == [" 50.0%  query (db.py"]
