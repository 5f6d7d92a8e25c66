"""The `cma` command: `migrate`, `serve <service>`, and `run` (the whole platform on one machine).

Every subcommand reads its configuration from the environment (`CMA_*`) through `Settings`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

from fastapi import FastAPI
from sqlalchemy.engine import make_url

from services.runtime.settings import Settings

SERVICES = ("intake", "indicator", "milestone", "alerting")
"""The services with an HTTP port of their own (`CMA_<NAME>_PORT`), in start order."""


def port_variable(service: str) -> str:
    return f"CMA_{service.upper()}_PORT"


def service_port(settings: Settings, service: str) -> int:
    return settings.port(service)


def migrate() -> int:
    from services.runtime.migrate import SERVICES as MIGRATED
    from services.runtime.migrate import upgrade_all

    upgrade_all(Settings().database_url)
    print(f"migrations applied: {', '.join(MIGRATED)}")
    return 0


def serve(service: str) -> int:
    """One service under uvicorn, on its port from the settings, in `CMA_HTTP_WORKERS`
    processes. Never migrates."""
    import uvicorn

    settings = Settings()
    os.environ[SERVED] = service
    # No access log: a line per request cost intake 3 % of its CPU (docs/performance.md, B1);
    # the request counters in /metrics say the same without the I/O.
    uvicorn.run(
        f"{__name__}:served_app",
        factory=True,
        workers=settings.http_workers,
        host=settings.http_host,
        port=service_port(settings, service),
        access_log=False,
    )
    return 0


SERVED = "CMA_SERVED_SERVICE"


def served_app() -> FastAPI:
    """uvicorn's factory, called in each worker process: the service `serve` named."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Group joins and partition assignments are what an operator reads after an incident.
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.INFO)
    module = importlib.import_module(f"services.{os.environ[SERVED]}.app")
    app: FastAPI = module.create_app(Settings())
    return app


def describe_run(
    settings: Settings, urls: dict[str, str], chosen: dict[str, str], state: Path
) -> str:
    """What `cma run` started and where it listens; `chosen` holds the CMA_* values it chose
    (embedded parts, a generated staff token) rather than found in the environment."""

    def origin(variable: str) -> str:
        return "  (embedded)" if variable in chosen else f"  (from {variable})"

    generated = "CMA_STAFF_TOKENS" in chosen
    token = (
        settings.staff_tokens[0].get_secret_value() if generated else "<one of CMA_STAFF_TOKENS>"
    )
    database = unquote(make_url(settings.database_url).set(password=None).render_as_string(False))
    rows = [
        *((name, f"{url}  (OpenAPI: {url}/docs)") for name, url in urls.items()),
        ("PostgreSQL", database + origin("CMA_DATABASE_URL")),
        ("Kafka", settings.kafka_bootstrap + origin("CMA_KAFKA_BOOTSTRAP")),
        ("staff token", f"{token}  (generated)" if generated else "from CMA_STAFF_TOKENS"),
        ("logs", str(state / "logs")),
    ]
    walk = [
        'Walk through the API as in README.md ("A walk through the API"):',
        f"  STAFF='{token}'",
        f"  INTAKE={urls['intake']} INDICATOR={urls['indicator']}",
        f"  MILESTONE={urls['milestone']} ALERTING={urls['alerting']}",
        '  curl -s "$INDICATOR/v1/coverage?sheet=ia" -H "Authorization: Bearer $STAFF"',
    ]
    table = (f"  {name:<12} {value}" for name, value in rows)
    return "\n".join(["", "CMA platform running:", *table, "", *walk])


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="cma",
        description="Monitoring platform of France 2030's AMI Compétences et Métiers d'Avenir.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("migrate", help="apply every service's database migrations")
    serve_cmd = commands.add_parser("serve", help="run one service (HTTP and its consumers)")
    serve_cmd.add_argument("service", choices=SERVICES)
    run_cmd = commands.add_parser(
        "run",
        help="run the whole platform on this machine (embedded PostgreSQL and Kafka if needed)",
        description=(
            "Starts an embedded PostgreSQL unless CMA_DATABASE_URL is set and an embedded "
            "Kafka-protocol broker unless CMA_KAFKA_BOOTSTRAP is set, migrates, starts every "
            "service and prints where each one listens. Ctrl-C stops everything."
        ),
    )
    run_cmd.add_argument(
        "--demo", action="store_true", help="post demo projects and reports through the API"
    )
    run_cmd.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".cma"),
        help="embedded PostgreSQL data, logs and demo marker (default: .cma)",
    )
    replay_cmd = commands.add_parser(
        "replay",
        help="rebuild a stopped service's state from its topics (docs/operations.md)",
        description=(
            "With every replica of the service stopped: rewinds its consumer groups to the "
            "start of their topics, drops its schema and migrates it afresh; start the service "
            "afterwards. Refused for intake and alerting, whose tables are the record."
        ),
    )
    replay_cmd.add_argument("service", choices=SERVICES)
    replay_cmd.add_argument(
        "--rewind-only",
        action="store_true",
        help="keep the schema: every event comes again and the inbox drops those applied",
    )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "migrate":
        return migrate()
    if args.command == "serve":
        return serve(args.service)
    if args.command == "replay":
        from services.runtime.replay import main as replay

        return replay(args.service, rewind_only=args.rewind_only)
    from services.runtime.local import run

    return run(args.state_dir, demo=args.demo)


if __name__ == "__main__":
    sys.exit(main())
