"""The deployment files agree with the code: docker-compose.yml, the Dockerfile, deploy/k8s/
and the settings table of docs/operations.md. No Docker engine runs here, so they are parsed,
and checked against `Settings`, the `cma` command, the service registry, `contracts.topics`
and the service apps."""

from __future__ import annotations

import copy
import os
import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from contracts.topics import ALL, DEAD_LETTERS
from services.command.main import parser
from services.runtime import registry
from services.runtime.registry import NAMES as SERVICES
from services.runtime.registry import PORTAL
from services.runtime.settings import Settings
from tests.conftest import require_tool

PROCESSES = tuple(p.name for p in registry.PROCESSES)  # the services and the portal
ROOT = Path(__file__).parents[2]
K8S = ROOT / "deploy" / "k8s"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
ONE_SHOT = {"kafka-topics", "migrate"}
KINDS = ("ConfigMap", "Secret")  # where Kubernetes pods take their settings from
# Production needs these whatever the table says (a floor under the "production" column).
ALWAYS_REQUIRED = {"CMA_STAFF_TOKENS", "CMA_DATABASE_URL", "CMA_KAFKA_BOOTSTRAP"}
SERVICE_DATABASE_URLS = {f"CMA_{name.upper()}_DATABASE_URL" for name in SERVICES}
"""Each service's own role (`Settings.database_urls`); a service gets its own instead of the
owner's `CMA_DATABASE_URL`."""


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


@cache
def k8s() -> tuple[tuple[str, dict[str, Any]], ...]:
    return tuple(
        (path.name, doc)
        for path in sorted(K8S.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    )


def k8s_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s() if doc["kind"] == kind}


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, doc in k8s_kind("Deployment").items():
        yield name, doc["spec"]["template"]["spec"]
    for name, doc in k8s_kind("Job").items():
        yield name, doc["spec"]["template"]["spec"]


@cache
def dockerfile() -> tuple[tuple[str, str], ...]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if not line.startswith("#")
    ]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return tuple(
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in joined.splitlines())
        if word
    )


def final_stage() -> list[tuple[str, str]]:
    instructions = list(dockerfile())
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`; `$$` is a literal `$`."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if env.get(name):
            return env[name]
        if operator and operator.endswith("?"):
            raise AssertionError(f"${{{name}}} is required: {argument}")
        return argument or ""

    return _VARIABLE.sub(substitute, value).replace("$$", "$")


def settings_table() -> dict[str, tuple[str, str]]:
    """docs/operations.md's table: variable -> (default, production column)."""
    rows = re.findall(
        r"^\| `(CMA_[A-Z0-9_]+)` \| `([^`]*)` \|([^|]*)\|",
        (ROOT / "docs" / "operations.md").read_text(),
        flags=re.MULTILINE,
    )
    return {name: (default, production.strip()) for name, default, production in rows}


def shown(default: object) -> str:
    if default is None:
        return "unset"
    if default == ():
        return "none"
    if isinstance(default, bool):
        return str(default).lower()
    return str(default)


def field(variable: str) -> str:
    return variable.removeprefix("CMA_").lower()


def production_required() -> set[str]:
    return {name for name, (_, production) in settings_table().items() if production == "set"}


def image_tag(image: str) -> str | None:
    name = image.split("@", 1)[0]
    return name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None


def consumed_topics(service: str) -> set[str]:
    """The topics a service's app reads in consumer groups, read from the app itself. Its
    groupless readers (every process hears of revoked tokens) read every partition in every
    replica: they bound nothing."""
    app = registry.service(service).create_app(Settings())
    subscribers = app.state.broker.subscribers
    return {t for sub in subscribers if sub.group_id is not None for t in sub.topic_names}


def topic_lines(script: str) -> dict[str, tuple[int, str]]:
    """`topic <name> <partitions> <retention.ms>` lines of a topic-creation script."""
    found = re.findall(r"^\s*topic (\S+) (\d+) (-?\d+)\s*$", script, flags=re.MULTILINE)
    return {name: (int(partitions), retention) for name, partitions, retention in found}


# --- docker-compose.yml ---------------------------------------------------------------------


def test_the_compose_file_runs_the_whole_platform() -> None:
    expected = {"postgres", "kafka", "prometheus", "grafana", *ONE_SHOT, *PROCESSES}
    assert expected <= set(compose_services())
    assert compose_services()["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert compose_services()["kafka"]["image"].startswith("apache/kafka:")


def test_every_long_running_compose_service_has_a_health_check() -> None:
    for name, service in compose_services().items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert service["restart"] == "unless-stopped", name


def test_services_wait_for_healthy_dependencies_and_successful_one_shots() -> None:
    services = compose_services()
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            if dependency in ONE_SHOT:
                assert condition == {"condition": "service_completed_successfully"}, name
            else:
                assert condition == {"condition": "service_healthy"}, name
                assert "healthcheck" in services[dependency], dependency
    for name in SERVICES:
        assert set(services[name]["depends_on"]) == {"postgres", "kafka", *ONE_SHOT}, name
    assert set(services["migrate"]["depends_on"]) == {"postgres"}
    # The portal needs no database nor broker: the services it calls, once they answer.
    assert services[PORTAL.name]["depends_on"] == {
        name: {"condition": "service_healthy"} for name in SERVICES
    }


def test_postgres_is_healthy_only_once_it_answers_over_tcp_and_migrate_waits_for_it() -> None:
    """A socket check passes against the image's init-time server, which has no TCP listener;
    migrate then retries for a bounded time instead of failing the stack at once."""
    check = " ".join(compose_services()["postgres"]["healthcheck"]["test"])
    assert "pg_isready" in check and "-h 127.0.0.1" in check, check
    arguments = parser().parse_args(compose_services()["migrate"]["command"])
    assert 30 <= arguments.wait <= 600, arguments.wait


def test_every_container_has_rotated_logs_a_memory_limit_and_only_local_ports() -> None:
    for name, service in compose_services().items():
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file", name
        assert {"max-size", "max-file"} <= set(logging.get("options", {})), name
        assert service["deploy"]["resources"]["limits"]["memory"], name
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name} publishes {mapping} everywhere"
    heap = compose_services()["kafka"]["environment"]["KAFKA_HEAP_OPTS"]
    assert "-Xmx" in heap, heap


def test_every_image_is_pinned_to_a_tag() -> None:
    images = [(name, s["image"]) for name, s in compose_services().items()]
    images += [
        (pod, container["image"])
        for pod, spec in pod_specs()
        for container in [*spec.get("initContainers", []), *spec["containers"]]
    ]
    args = dict(rest.split("=", 1) for word, rest in dockerfile() if word == "ARG" and "=" in rest)
    images += [
        (f"Dockerfile FROM {rest}", interpolate(rest.split()[0], args))
        for word, rest in dockerfile()
        if word == "FROM"
    ]
    for where, image in images:
        assert image_tag(image) not in (None, "latest"), f"{where}: {image} is not pinned"
    ours = [image for _, image in images if image.split(":")[0].endswith("cma-monitoring")]
    assert ours and {image_tag(image) for image in ours} == {VERSION}


def test_published_ports_do_not_collide_and_match_the_settings() -> None:
    published: dict[str, str] = {}
    for name, service in compose_services().items():
        for mapping in service.get("ports", []):
            host = str(mapping).rsplit(":", 1)[0]
            assert host not in published, f"{name} and {published[host]} both publish {host}"
            published[host] = name
    for name in PROCESSES:
        port = registry.process(name).default_port
        assert compose_services()[name]["ports"] == [f"127.0.0.1:{port}:{port}"]
        assert f"{port}/readyz" in " ".join(compose_services()[name]["healthcheck"]["test"])


def cma_variables() -> Iterator[tuple[str, str, str]]:
    """(where, variable, value) for every CMA_* variable the image, compose or Kubernetes
    sets."""
    for word, rest in final_stage():
        if word == "ENV":
            for variable, value in (pair.split("=", 1) for pair in shlex.split(rest)):
                if variable.startswith("CMA_"):
                    yield "Dockerfile", variable, value
    for name, service in compose_services().items():
        for variable, value in (service.get("environment") or {}).items():
            if variable.startswith("CMA_"):
                yield f"compose {name}", variable, str(value)
    for kind in KINDS:
        for name, doc in k8s_kind(kind).items():
            for variable, value in (doc.get("data") or doc.get("stringData") or {}).items():
                yield f"{kind} {name}", variable, str(value)
    for pod, spec in pod_specs():
        for container in spec["containers"]:
            for entry in container.get("env", []):
                if entry["name"].startswith("CMA_"):  # a value, or one taken from a Secret
                    value = entry.get("value", entry.get("valueFrom"))
                    yield f"pod {pod}", entry["name"], str(value)


def is_setting(variable: str) -> bool:
    """A field of `Settings`, or one of its per-process variables (ports, service URLs,
    each service's database URL)."""
    per_process = {p.port_variable for p in registry.PROCESSES} | SERVICE_DATABASE_URLS
    per_process |= {f"CMA_{name.upper()}_URL" for name in SERVICES}
    return field(variable) in Settings.model_fields or variable in per_process


def test_every_cma_variable_set_is_a_setting() -> None:
    variables = list(cma_variables())
    assert variables
    for where, variable, _ in variables:
        assert variable.startswith("CMA_"), f"{where}: {variable}"
        assert is_setting(variable), f"{where}: {variable} is no setting"


def test_every_production_setting_is_set_by_compose_and_kubernetes() -> None:
    required = production_required()
    assert ALWAYS_REQUIRED <= required
    k8s_set = {v: value for where, v, value in cma_variables() if where.split()[0] in KINDS}
    assert required <= set(k8s_set), required - set(k8s_set)
    for name in [*PROCESSES, "migrate"]:
        environment = compose_services()[name]["environment"]
        needed = required if name == "migrate" else required - {"CMA_DATABASE_URL"}
        assert needed <= set(environment), f"{name}: {needed - set(environment)}"
        assert environment["CMA_ENVIRONMENT"] == "production"
        assert environment["CMA_KAFKA_IDEMPOTENCE"] == "true"
    assert k8s_set["CMA_ENVIRONMENT"] == "production"
    assert k8s_set["CMA_KAFKA_IDEMPOTENCE"] == "true"


def settings_from(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`Settings` as a process with exactly this CMA_* environment would read them."""
    for variable in [v for v in os.environ if v.startswith("CMA_")]:
        monkeypatch.delenv(variable)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    return Settings()


def test_the_compose_environment_makes_valid_production_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment = compose_services()["indicator"]["environment"]
    settings = settings_from(
        {k: interpolate(str(v), env_example()) for k, v in environment.items()}, monkeypatch
    )
    assert settings.environment == "production"
    assert settings.kafka_idempotence is True
    assert settings.kafka_bootstrap == "kafka:9092"
    own = settings.service_database_url("indicator")
    assert own.startswith("postgresql+asyncpg://cma_indicator:") and own.endswith(
        "@postgres:5432/cma"
    )
    assert settings.http_host == "0.0.0.0"
    assert all(isinstance(t, SecretStr) for t in settings.staff_tokens)


def test_the_kubernetes_configmap_and_secret_make_valid_production_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment = {v: value for where, v, value in cma_variables() if where.split()[0] in KINDS}
    settings = settings_from(environment, monkeypatch)
    assert settings.environment == "production"
    assert settings.kafka_idempotence is True
    assert settings.http_host == "0.0.0.0"


def test_env_example_lists_exactly_the_variables_compose_reads() -> None:
    read = {m.group(1) for m in _VARIABLE.finditer((ROOT / "docker-compose.yml").read_text())}
    read |= {secret["environment"] for secret in compose()["secrets"].values()}
    assert read == set(env_example())


def test_alertmanager_reads_its_secrets_from_the_files_compose_mounts() -> None:
    alertmanager = compose_services()["alertmanager"]
    config = (ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text()
    named = set(re.findall(r"/run/secrets/(\w+)", config))
    assert named == set(alertmanager["secrets"]) == set(compose()["secrets"])
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    [targets] = [
        c["targets"] for a in prometheus["alerting"]["alertmanagers"] for c in a["static_configs"]
    ]
    assert targets == ["alertmanager:9093"]
    assert "127.0.0.1:9093:9093" in alertmanager["ports"]


def test_topics_are_created_with_the_contract_partitions_and_retention() -> None:
    """Compose's local broker gets them from Kafka's own script; Kubernetes' Job runs `cma
    topics`, which reads them from the contract itself (with the services' TLS/SASL)."""
    created = topic_lines("\n".join(compose_services()["kafka-topics"]["command"]))
    assert {name: p for name, (p, _) in created.items()} == {t.name: t.partitions for t in ALL}
    assert {name: int(r) for name, (_, r) in created.items()} == {
        t.name: t.retention_ms for t in ALL
    }
    assert {t.name for t in ALL if t.retention_ms != -1} == {DEAD_LETTERS.name}
    [job] = [doc for name, doc in k8s_kind("Job").items() if name.startswith("cma-topics")]
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["args"][:1] == ["topics"]
    assert "--replication-factor" in container["args"]


def test_named_volumes_are_declared_and_bind_mounts_exist() -> None:
    declared = set(compose()["volumes"])
    used = set()
    for name, service in compose_services().items():
        for mount in service.get("volumes", []):
            source, target = mount.split(":")[:2]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} is missing"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
            assert target.startswith("/")
    assert used == declared
    prometheus = compose_services()["prometheus"]["volumes"]
    grafana = compose_services()["grafana"]["volumes"]
    assert any(v.startswith("./deploy/prometheus:/etc/prometheus") for v in prometheus)
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana
    assert "./dashboards:/var/lib/grafana/dashboards:ro" in grafana


# --- Dockerfile -----------------------------------------------------------------------------


def test_the_image_installs_this_project_from_its_own_wheel() -> None:
    runs = [rest for word, rest in dockerfile() if word == "RUN"]
    builds = [shlex.split(r) for r in runs if "pip wheel" in r]
    assert builds and builds[0][-1] == ".", "the wheel is built from this project"
    installs = [rest for word, rest in final_stage() if word == "RUN" and "pip install" in rest]
    assert len(installs) == 1
    words = shlex.split(installs[0])
    assert PYPROJECT["project"]["name"] in words
    assert "--no-index" in words, "only the wheels built in the first stage"
    assert "[dev]" not in installs[0] and "-e" not in words


def locked() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    pins = (line.split("==") for line in lines if "==" in line and not line.startswith(" "))
    return {canonical(name): version for name, version in pins}


def canonical(requirement: str) -> str:
    name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_pins_every_dependency_pyproject_names() -> None:
    project = PYPROJECT["project"]
    named = [
        *project["dependencies"],
        *(d for ds in project["optional-dependencies"].values() for d in ds),
    ]
    assert {canonical(d) for d in named} <= set(locked()), "run make lock"


def test_the_image_and_make_install_from_the_lock() -> None:
    builds = [rest for word, rest in dockerfile() if word == "RUN" and "pip wheel" in rest]
    assert "--constraint requirements.lock" in builds[0]
    makefile = (ROOT / "Makefile").read_text()
    assert '-c requirements.lock -e ".[dev,local]"' in makefile


def test_the_image_runs_as_a_non_root_user() -> None:
    users = [rest for word, rest in final_stage() if word == "USER"]
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    for pod, spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, pod


def test_every_container_command_is_a_valid_cma_command() -> None:
    entrypoint = yaml.safe_load(dict(dockerfile())["ENTRYPOINT"])
    assert entrypoint == ["cma"]
    assert "cma" in PYPROJECT["project"]["scripts"]
    commands = [("Dockerfile CMD", yaml.safe_load(dict(dockerfile())["CMD"]))]
    commands += [
        (f"compose {name}", s["command"])
        for name, s in compose_services().items()
        if s.get("image", "").startswith("cma-monitoring:")
    ]
    commands += [
        (f"k8s {pod}", c["args"])
        for pod, spec in pod_specs()
        for c in spec["containers"]
        if "cma-monitoring" in c["image"]
    ]
    # CMD; compose's migrate and one per process; Kubernetes' three Jobs and one per process
    assert len(commands) == 1 + (1 + len(PROCESSES)) + (3 + len(PROCESSES))
    for where, command in commands:
        parser().parse_args(command)  # exits (fails the test) on anything `cma` refuses
        assert command[0] in ("serve", "migrate", "replay", "topics"), where
    for name in PROCESSES:
        assert compose_services()[name]["command"] == ["serve", name]
        [container] = k8s_kind("Deployment")[name]["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["serve", name]
    assert compose_services()["migrate"]["command"][0] == "migrate"


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    kept = {
        line.removeprefix("!").rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copied = {
        shlex.split(rest)[0].removeprefix("./")
        for word, rest in dockerfile()
        if word == "COPY" and "--from" not in rest
    }
    assert copied and all(any(p == k or p.startswith(f"{k}/") for k in kept) for p in copied)
    assert all((ROOT / path).exists() for path in copied)


def test_the_image_serves_the_portals_dsfr_assets_installed_from_the_lock() -> None:
    """npm installs them in a stage of its own; the final stage copies them where the portal
    looks (services/portal/app.py `DSFR`) and the build fails if the portal does not see them.
    The local node_modules stay out of the build context."""
    from services.portal.app import DSFR

    instructions = list(dockerfile())
    stages = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    [assets] = [i for i in stages if instructions[i][1].endswith(" AS assets")]
    stage = instructions[assets : min(i for i in stages if i > assets)]
    copies = [shlex.split(rest) for word, rest in stage if word == "COPY"]
    assert ["services/portal/package.json", "services/portal/package-lock.json", "./"] in copies
    assert any(word == "RUN" and "npm ci --ignore-scripts" in rest for word, rest in stage)
    [copy] = [rest for word, rest in final_stage() if word == "COPY" and "--from=assets" in rest]
    target = PurePosixPath(shlex.split(copy)[-1])
    relative = DSFR.relative_to(ROOT / "services" / "portal")
    assert str(target).endswith(f"services/portal/{relative}"), target
    after = final_stage()[final_stage().index(("COPY", copy)) :]
    assert any(word == "RUN" and "portal.DSFR.is_dir()" in rest for word, rest in after)
    assert "services/portal/node_modules" in (ROOT / ".dockerignore").read_text().splitlines()


# --- deploy/k8s -----------------------------------------------------------------------------


def test_kustomize_lists_every_manifest_but_those_run_by_hand() -> None:
    [kustomization] = [doc for _, doc in k8s() if doc.get("kind") == "Kustomization"]
    by_hand = {"replay-job.yaml", "podmonitor.yaml"}
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files - by_hand
    kinds = {doc["kind"] for _, doc in k8s()}
    assert {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "ConfigMap",
        "Secret",
        "Job",
    } <= kinds


def test_every_deployment_probes_livez_and_readyz_on_its_port() -> None:
    """Liveness must not touch the database: `/livez`, never `/healthz` or `/readyz`."""
    deployments = k8s_kind("Deployment")
    assert set(deployments) == set(PROCESSES)
    for name, deployment in deployments.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": registry.process(name).default_port}
        probes = {"readinessProbe": "/readyz", "livenessProbe": "/livez"}
        for probe, path in probes.items():
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}, name
        service = k8s_kind("Service")[name]
        assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
        assert service["spec"]["ports"][0]["port"] == ports["http"]


def test_consumers_never_scale_past_the_partitions_they_read() -> None:
    partitions = {t.name: t.partitions for t in ALL}
    autoscalers = {
        doc["spec"]["scaleTargetRef"]["name"]: doc
        for doc in k8s_kind("HorizontalPodAutoscaler").values()
    }
    assert set(autoscalers) == set(SERVICES)
    for name in SERVICES:
        spec = autoscalers[name]["spec"]
        replicas = k8s_kind("Deployment")[name]["spec"]["replicas"]
        assert 1 <= spec["minReplicas"] <= replicas <= spec["maxReplicas"], name
        topics = consumed_topics(name)
        if topics:
            bound = min(partitions[t] for t in topics)
            assert spec["maxReplicas"] <= bound, f"{name} reads {sorted(topics)}: at most {bound}"
    assert consumed_topics("intake") == set()
    assert consumed_topics("indicator") == {"cma.projects.v1", "cma.reports.v1", "cma.access.v1"}


def test_pods_read_settings_from_the_configmap_and_the_secret() -> None:
    configmaps, secrets = set(k8s_kind("ConfigMap")), set(k8s_kind("Secret"))
    for pod, spec in pod_specs():
        assert spec.get("enableServiceLinks") is False, f"{pod}: service links shadow CMA_*"
        for container in spec["containers"]:
            sources = container.get("envFrom", [])
            names = {s["configMapRef"]["name"] for s in sources if "configMapRef" in s}
            assert names and names <= configmaps, pod
            if "cma-monitoring" in container["image"]:
                secret = {
                    s["secretRef"]["name"]
                    for s in sources
                    if "secretRef" in s and not s["secretRef"].get("optional")
                }
                assert secret and secret <= secrets, pod


def test_each_service_connects_as_its_own_role_and_only_migrations_as_the_owner() -> None:
    """The owner's URL (CREATE on the database) reaches the migrate step alone; each service
    container gets its own role's URL and no other service's."""
    migrate = compose_services()["migrate"]["environment"]
    assert {"CMA_DATABASE_URL", *SERVICE_DATABASE_URLS} <= set(migrate)
    for name in SERVICES:
        own = f"CMA_{name.upper()}_DATABASE_URL"
        given = set(compose_services()[name]["environment"])
        assert given & ({"CMA_DATABASE_URL"} | SERVICE_DATABASE_URLS) == {own}, name
        assert f"cma_{name}:" in compose_services()[name]["environment"][own], name
        [container] = k8s_kind("Deployment")[name]["spec"]["template"]["spec"]["containers"]
        [env] = container["env"]
        assert env["name"] == own and env["valueFrom"]["secretKeyRef"]["key"] == own, name
    database = k8s_kind("Secret")["cma-database"]["stringData"]
    assert set(database) == {"CMA_DATABASE_URL", *SERVICE_DATABASE_URLS}
    for name, doc in k8s_kind("Secret").items():
        if name != "cma-database":
            assert not set(doc["stringData"]) & set(database), name
    for name, doc in k8s_kind("Job").items():
        [container] = doc["spec"]["template"]["spec"]["containers"]
        reads = {s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s}
        assert ("cma-database" in reads) == (name.startswith(("cma-migrate", "cma-replay"))), name


def test_pods_wait_for_the_topic_and_migration_jobs_of_their_release() -> None:
    jobs = set(k8s_kind("Job"))
    release = VERSION.replace(".", "-")
    assert {f"cma-topics-{release}", f"cma-migrate-{release}"} <= jobs
    for name in SERVICES:
        spec = k8s_kind("Deployment")[name]["spec"]["template"]["spec"]
        [wait] = spec["initContainers"]
        waited = {a.removeprefix("job/") for a in wait["args"] if a.startswith("job/")}
        assert waited == {f"cma-topics-{release}", f"cma-migrate-{release}"}, name


# --- docs/operations.md ---------------------------------------------------------------------


def test_the_settings_table_lists_every_setting_with_its_default() -> None:
    table = settings_table()
    defaults = {
        f"CMA_{name.upper()}": field.default
        for name, field in Settings.model_fields.items()
        if name not in ("ports", "service_urls", "database_urls")  # one per process, below
    } | {spec.port_variable: spec.default_port for spec in registry.PROCESSES}
    defaults |= {f"CMA_{spec.name.upper()}_URL": None for spec in registry.SERVICES}
    defaults |= dict.fromkeys(SERVICE_DATABASE_URLS)
    assert set(table) == set(defaults), (
        f"missing from docs/operations.md: {sorted(set(defaults) - set(table))}; "
        f"not settings: {sorted(set(table) - set(defaults))}"
    )
    for variable, (default, production) in table.items():
        assert default == shown(defaults[variable]), variable
        assert production in ("", "set"), variable


# --- deploy/k8s: schemas and the objects a real cluster needs ------------------------------

KUBERNETES = "1.33.0"  # the oldest minor the manifests target
CUSTOM_KINDS = {"Kustomization", "PodMonitor", "PrometheusRule"}  # no schema in Kubernetes'


def every_manifest() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield str(path.relative_to(K8S)), doc


def test_every_manifest_is_valid_against_the_kubernetes_schemas() -> None:
    """kubernetes-validate bundles the API's JSON schemas (strict: an unknown or misspelt
    field is refused), so this runs offline; the operator's kinds are checked below."""
    checked = 0
    for _, doc in every_manifest():
        if doc["kind"] not in CUSTOM_KINDS:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
            checked += 1
    assert checked >= 30


def test_the_schema_check_refuses_a_misspelt_field() -> None:
    deployment = copy.deepcopy(k8s_kind("Deployment")["intake"])
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_the_portal_reaches_each_service_at_its_name_and_port() -> None:
    """Compose and Kubernetes both name a service's host after it (its compose service, its
    Kubernetes Service), on the registry's port."""
    expected = {
        f"CMA_{name.upper()}_URL": f"http://{name}:{registry.service(name).default_port}"
        for name in SERVICES
    }
    environment = compose_services()[PORTAL.name]["environment"]
    assert {k: v for k, v in environment.items() if k.endswith("_URL") and k in expected} == (
        expected
    )
    [container] = k8s_kind("Deployment")[PORTAL.name]["spec"]["template"]["spec"]["containers"]
    assert {e["name"]: e["value"] for e in container["env"] if e["name"] in expected} == expected
    for name in SERVICES:
        assert k8s_kind("Service")[name]["spec"]["ports"][0]["port"] == (
            registry.service(name).default_port
        )


def test_the_portal_is_published_over_tls_on_its_own_host_with_sticky_sessions() -> None:
    ingress = k8s_kind("Ingress")[PORTAL.name]
    [tls] = ingress["spec"]["tls"]
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] in tls["hosts"] and tls["secretName"]
    assert rule["host"] != k8s_kind("Ingress")["intake"]["spec"]["rules"][0]["host"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    [path] = rule["http"]["paths"]
    assert path["path"] == "/" and path["pathType"] == "Prefix"
    assert path["backend"]["service"] == {"name": PORTAL.name, "port": {"name": "http"}}
    # Sessions live in one process's memory: no autoscaler may add a replica behind it.
    assert k8s_kind("Deployment")[PORTAL.name]["spec"]["replicas"] == 1
    assert PORTAL.name not in {
        doc["spec"]["scaleTargetRef"]["name"]
        for doc in k8s_kind("HorizontalPodAutoscaler").values()
    }


def test_intake_is_published_over_tls_and_only_its_api() -> None:
    ingress = k8s_kind("Ingress")["intake"]
    [tls] = ingress["spec"]["tls"]
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] in tls["hosts"] and tls["secretName"]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"
    [path] = rule["http"]["paths"]
    assert path["path"] == "/v1" and path["pathType"] == "Prefix"
    assert path["backend"]["service"] == {"name": "intake", "port": {"name": "http"}}


def test_no_pod_takes_connections_but_from_the_ingress_controller_and_prometheus() -> None:
    policies = k8s_kind("NetworkPolicy")
    deny = policies["default-deny-ingress"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    allowed: dict[str, set[str]] = {}
    for policy in policies.values():
        spec = policy["spec"]
        selector = spec["podSelector"]
        pods = set(selector.get("matchLabels", {}).values()) or {
            v for e in selector.get("matchExpressions", []) for v in e["values"]
        }
        for rule in spec.get("ingress", []):
            [source] = rule["from"]
            if "namespaceSelector" in source:
                labels = source["namespaceSelector"]["matchLabels"]
                peer = labels["kubernetes.io/metadata.name"]
            else:  # a pod of this namespace
                peer = "pod " + source["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for pod in pods:
                allowed.setdefault(pod, set()).add(peer)
    assert allowed == {
        "intake": {"ingress-nginx", "monitoring", "pod portal"},
        **{name: {"monitoring", "pod portal"} for name in SERVICES if name != "intake"},
        "portal": {"ingress-nginx", "monitoring"},
    }


def test_the_migration_job_waits_for_the_database() -> None:
    [job] = [doc for name, doc in k8s_kind("Job").items() if name.startswith("cma-migrate")]
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["args"][:2] == ["migrate", "--wait"]
    assert job["spec"]["parallelism"] == 1


def test_services_join_a_secured_kafka_and_need_no_right_to_create_topics() -> None:
    data = k8s_kind("ConfigMap")["cma-settings"]["data"]
    assert data["CMA_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert data["CMA_KAFKA_CREATE_TOPICS"] == "false"
    secret = k8s_kind("Secret")["cma-secrets"]["stringData"]
    assert {"CMA_KAFKA_SASL_USERNAME", "CMA_KAFKA_SASL_PASSWORD"} <= set(secret)
    ca = str(Path(data["CMA_KAFKA_SSL_CAFILE"]).parent)
    for pod, spec in pod_specs():
        for container in spec["containers"]:
            # Neither the migration Job nor the portal (an HTTP client) speaks to Kafka.
            kafka_free = pod.startswith("cma-migrate") or pod == PORTAL.name
            if "cma-monitoring" in container["image"] and not kafka_free:
                mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
                assert ca in mounts, f"{pod}: the Kafka CA is not mounted at {ca}"


def test_the_generated_prometheusrule_holds_every_rule_and_passes_promtool(tmp_path: Path) -> None:
    rules = ROOT / "deploy" / "prometheus" / "rules"
    [rule] = [d for w, d in every_manifest() if d["kind"] == "PrometheusRule"]
    groups = [
        g for p in sorted(rules.glob("*.yml")) for g in yaml.safe_load(p.read_text())["groups"]
    ]
    assert rule["spec"]["groups"] == groups
    spec = tmp_path / "spec.yml"
    spec.write_text(yaml.safe_dump(rule["spec"]))
    done = subprocess.run(
        [require_tool("promtool"), "check", "rules", str(spec)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_dashboard_has_a_configmap_for_grafana_s_sidecar() -> None:
    maps = [
        d for w, d in every_manifest() if w.startswith("monitoring/") and d["kind"] == "ConfigMap"
    ]
    shipped = {}
    for configmap in maps:
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        [(name, text)] = configmap["data"].items()
        shipped[name] = text
    boards = ROOT / "dashboards"
    assert shipped == {p.name: p.read_text() for p in sorted(boards.glob("*.json"))}
