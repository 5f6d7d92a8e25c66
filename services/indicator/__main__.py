"""`python -m services.indicator`: the same as `cma serve indicator`."""

from services.runtime.cli import main

raise SystemExit(main(["serve", "indicator"]))
