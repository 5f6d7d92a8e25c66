"""The pause between two rebuilds of the families served from memory (runtime/metrics.py)."""

import pytest

from services.runtime.metrics import REBUILD_SHARE, pause_after


@pytest.mark.parametrize(
    ("rebuild_seconds", "longest", "pause"),
    [
        (0.02, 1.0, 0.06),  # a batch's few projects: a short pause, fresh figures
        (0.1, 1.0, 0.3),
        (0.5, 1.0, 1.0),  # a full rebuild: the setting caps the pause
        (0.0, 1.0, 0.0),
        (0.02, 0.0, 0.0),  # CMA_METRICS_PAUSE_SECONDS=0: no pause at all
    ],
)
def test_pause_is_three_rebuilds_long_at_most_the_setting(
    rebuild_seconds: float, longest: float, pause: float
) -> None:
    assert pause_after(rebuild_seconds, longest) == pytest.approx(pause)


def test_rebuilds_take_at_most_their_share_of_the_loop_below_the_cap() -> None:
    for rebuild_seconds in (0.001, 0.01, 0.05, 0.1):
        pause = pause_after(rebuild_seconds, 10.0)
        assert rebuild_seconds / (rebuild_seconds + pause) == pytest.approx(REBUILD_SHARE)
