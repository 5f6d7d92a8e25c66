"""The `cma` command: `migrate`, `topics`, `serve <service>`, `replay <service>`,
`asyncapi [--check]`, `bilan --sheet <sheet>`,
and `run` (the whole platform on one machine, from the local launcher).

Every subcommand reads its configuration from the environment (`CMA_*`) through `Settings`,
and the services it may name from the registry.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from services.bilan.render import BilanFormat
from services.command.migrate import WAIT_SECONDS
from services.runtime.registry import NAMES, PROCESSES, SERVICES
from services.runtime.settings import Settings


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="cma",
        description="Monitoring platform of France 2030's AMI Compétences et Métiers d'Avenir.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    migrate_cmd = commands.add_parser(
        "migrate",
        help="apply every service's database migrations",
        description="Waits up to --wait seconds for the database to accept connections, "
        "then applies every service's migrations.",
    )
    migrate_cmd.add_argument(
        "--wait",
        type=float,
        default=WAIT_SECONDS,
        metavar="SECONDS",
        help=f"how long to retry while the database is not reachable (default {WAIT_SECONDS:g})",
    )
    topics_cmd = commands.add_parser(
        "topics",
        help="create the missing topics of contracts/topics.py (partitions, retention)",
        description="Creates, with the CMA_KAFKA_* connection settings, every contract topic "
        "the cluster lacks; existing topics are left alone. Run it once per release, then "
        "the services need no CREATE right (CMA_KAFKA_CREATE_TOPICS=false).",
    )
    topics_cmd.add_argument("--replication-factor", type=int, default=1, metavar="N")
    topics_cmd.add_argument(
        "--min-insync-replicas", type=int, default=None, metavar="N", help="topic setting"
    )
    serve_cmd = commands.add_parser(
        "serve", help="run one service (HTTP and its consumers), or the portal"
    )
    serve_cmd.add_argument("service", choices=[spec.name for spec in PROCESSES])
    run_cmd = commands.add_parser(
        "run",
        help="run the whole platform on this machine (embedded PostgreSQL and Kafka if needed)",
        description=(
            "Starts an embedded PostgreSQL unless CMA_DATABASE_URL is set and an embedded "
            "Kafka-protocol broker unless CMA_KAFKA_BOOTSTRAP is set (both from the `local` "
            "extra), migrates, starts every service and prints where each one listens. "
            "Ctrl-C stops everything."
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
    kept = [spec.name for spec in SERVICES if spec.not_rebuildable]
    refused = " and ".join([", ".join(kept[:-1]), kept[-1]] if len(kept) > 1 else kept)
    replay_cmd = commands.add_parser(
        "replay",
        help="rebuild a stopped service's state from its topics (docs/operations.md)",
        description=(
            "With every replica of the service stopped: rewinds its consumer groups to the "
            "start of their topics, drops its schema and migrates it afresh; start the service "
            f"afterwards. Refused for {refused}, whose tables are the record."
        ),
    )
    replay_cmd.add_argument("service", choices=NAMES)
    replay_cmd.add_argument(
        "--rewind-only",
        action="store_true",
        help="keep the schema: every event comes again and the inbox drops those applied",
    )
    asyncapi_cmd = commands.add_parser(
        "asyncapi",
        help="write contracts/schemas/asyncapi-<service>.json from the services' brokers",
    )
    asyncapi_cmd.add_argument("--check", action="store_true", help="write nothing; exit 1 on drift")
    bilan_cmd = commands.add_parser(
        "bilan",
        help="write a sheet's season review (Markdown, HTML or PDF) from the services' APIs",
        description="Reads the running services' public APIs (CMA_<SERVICE>_URL, else "
        "127.0.0.1 on CMA_<SERVICE>_PORT) with a staff token (--token, else the first of "
        "CMA_STAFF_TOKENS) and writes the bilan of --sheet (docs/insight.md, The bilan).",
    )
    bilan_cmd.add_argument("--sheet", required=True, help="a catalog sheet id, e.g. ia")
    bilan_cmd.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        metavar="DATE",
        help="count people of the semesters ended by DATE (default: the indicator's today)",
    )
    bilan_cmd.add_argument(
        "--format", choices=[f.value for f in BilanFormat], default=BilanFormat.MD.value
    )
    bilan_cmd.add_argument(
        "--output", type=Path, default=None, metavar="FILE", help="default: standard output"
    )
    bilan_cmd.add_argument("--token", default=None, help="a staff token")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "migrate":
        from services.command.migrate import migrate

        settings = Settings()
        return migrate(settings.database_url, args.wait, settings.database_urls)
    if args.command == "topics":
        from services.command.topics import main as topics

        return topics(
            replication_factor=args.replication_factor,
            min_insync_replicas=args.min_insync_replicas,
        )
    if args.command == "serve":
        from services.command.serve import serve

        return serve(args.service)
    if args.command == "replay":
        from services.command.replay import main as replay

        return replay(args.service, rewind_only=args.rewind_only)
    if args.command == "asyncapi":
        from services.command.asyncapi import main as asyncapi

        return asyncapi(check=args.check)
    if args.command == "bilan":
        from services.command.bilan import main as bilan

        return bilan(args.sheet, BilanFormat(args.format), args.as_of, args.output, args.token)
    from services.launcher.local import run  # the launcher, only for `run`

    return run(args.state_dir, demo=args.demo)


if __name__ == "__main__":
    sys.exit(main())
