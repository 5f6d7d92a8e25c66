"""The platform under test, in one vocabulary for every kind of test.

- `Platform`: services of the registry in this process, each app built by its factory and
  served on a real port, over a real database and broker, with a fake clock the test moves.
  `running_platform(settings, clock, services)` starts them; the `platform` fixture
  (tests/conftest.py) is intake, indicator and milestone on an empty database and a fresh
  broker.
- `PlatformProcesses`: the same services as processes (`cma serve <name>`, as deployed),
  which a test may SIGKILL, stop and start again, or freeze (SIGSTOP) and thaw (the
  battery).

Both are async context managers that stop what they started, and both say `start(name)`,
`stop(name)`, `url(name)`, `database_url` and `bootstrap`. A name is a registry name, or
`<name>-<n>` for another member of that service (same consumer groups, another port).
"""

from tests.support.platform.in_process import Platform, running_platform, serve
from tests.support.platform.parts import (
    STAFF,
    STAFF_TOKEN,
    EmbeddedKafka,
    Project,
    free_port,
    running_broker,
    settings_for_tests,
)
from tests.support.platform.processes import PlatformProcesses, cma_command, process_environment

__all__ = [
    "STAFF",
    "STAFF_TOKEN",
    "EmbeddedKafka",
    "Platform",
    "PlatformProcesses",
    "Project",
    "cma_command",
    "free_port",
    "process_environment",
    "running_broker",
    "running_platform",
    "serve",
    "settings_for_tests",
]
