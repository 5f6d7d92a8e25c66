"""`python -m services.intake`: the same as `cma serve intake`."""

from services.runtime.cli import main

raise SystemExit(main(["serve", "intake"]))
