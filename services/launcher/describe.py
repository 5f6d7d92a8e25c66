"""What `cma run` prints once every service is healthy: the portal's address first, where each
service listens, where its database, broker, staff token and logs come from, and how to start
walking through the API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import make_url

from services.runtime import registry
from services.runtime.settings import Settings


def describe_run(
    settings: Settings, urls: dict[str, str], chosen: dict[str, str], state: Path
) -> str:
    """`urls` by process (the services in start order, then the portal, printed first);
    `chosen` holds the CMA_* values `cma run` chose (embedded parts, a generated staff token)
    rather than found in the environment."""

    def origin(variable: str) -> str:
        return "  (embedded)" if variable in chosen else f"  (from {variable})"

    generated = "CMA_STAFF_TOKENS" in chosen
    token = (
        settings.staff_tokens[0].get_secret_value() if generated else "<one of CMA_STAFF_TOKENS>"
    )
    database = unquote(make_url(settings.database_url).set(password=None).render_as_string(False))
    portal = registry.PORTAL.name
    services = {name: url for name, url in urls.items() if name != portal}
    rows = [
        (portal, f"{urls[portal]}  (open it in a browser; sign in with the staff token)"),
        *((name, f"{url}  (OpenAPI: {url}/docs)") for name, url in services.items()),
        ("PostgreSQL", database + origin("CMA_DATABASE_URL")),
        ("Kafka", settings.kafka_bootstrap + origin("CMA_KAFKA_BOOTSTRAP")),
        ("staff token", f"{token}  (generated)" if generated else "from CMA_STAFF_TOKENS"),
        ("logs", str(state / "logs")),
    ]
    variables = [f"{name.upper()}={url}" for name, url in services.items()]
    walk = [
        'Walk through the API as in README.md ("A walk through the API"):',
        f"  STAFF='{token}'",
        *(f"  {' '.join(variables[i : i + 2])}" for i in range(0, len(variables), 2)),
        '  curl -s "$INDICATOR/v1/coverage?sheet=ia" -H "Authorization: Bearer $STAFF"',
    ]
    table = (f"  {name:<12} {value}" for name, value in rows)
    return "\n".join(["", "CMA platform running:", *table, "", *walk])
