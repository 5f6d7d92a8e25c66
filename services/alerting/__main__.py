"""`python -m services.alerting`: the same as `cma serve alerting`."""

from services.runtime.cli import main

raise SystemExit(main(["serve", "alerting"]))
