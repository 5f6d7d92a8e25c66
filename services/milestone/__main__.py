"""`python -m services.milestone`: the same as `cma serve milestone`."""

from services.runtime.cli import main

raise SystemExit(main(["serve", "milestone"]))
