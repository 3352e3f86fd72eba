"""docker-compose.yml agrees with the code (no Docker needed: the file is only parsed).

The environment each service needs is derived from its pydantic settings class at run time
(``services.<svc>.config``, prefix ``XF_``): a field without a default must be set, and every
``XF_*`` variable compose sets must be a field (a typo would otherwise be silently ignored,
since the settings classes use ``extra="ignore"``).
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices, AliasPath
from pydantic.fields import FieldInfo

from shared.platform.settings import METRICS_PORT_SHIFT, REPO_ROOT, ServiceSettings
from shared.tools.stack.layout import SERVICE_PORTS, SERVICES
from shared.tools.stack.postgres import role_name

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = "deploy/docker/Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"
PG_INIT = ROOT / "deploy" / "docker" / "postgres-init.sh"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
GRAFANA_DIR = ROOT / "deploy" / "grafana"

# Intake's keys: required whenever the settings class declares them (personal data is
# encrypted at rest; shared/tools/stack/control.py passes the same two variables).
INTAKE_KEY_FIELDS = ("pii_key", "pseudonym_key")

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<default>[^}]*)\}")
# Variables that carry a secret: compose must take them from the environment, never a default.
_SECRET = re.compile(r"PASSWORD|_KEY$|_KEYS$|TOKENS_FILE_HOST")


# --- helpers ---------------------------------------------------------------------------------


def interpolate(value: str) -> str:
    """Resolve ``${NAME:-default}`` as compose does with NAME unset (the default), and a
    required ``${NAME:?message}`` as if the operator had set it."""
    def one(m: re.Match[str]) -> str:
        op = m.group("op") or ""
        return f"set-{m.group('name')}" if op.endswith("?") else (
            m.group("default") if op else "")
    return _VAR.sub(one, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict) and isinstance(loaded.get("services"), dict)
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as strings, raw (before interpolation); list form accepted."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        env = dict(pairs)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """container port -> host port, from short (``[ip:]host:container``) or long syntax."""
    out: dict[int, int] = {}
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            target = int(entry["target"])
            out[target] = int(str(entry.get("published", target)))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) == 1:
            out[int(parts[0])] = int(parts[0])
        else:
            out[int(parts[-1])] = int(parts[-2])
    return out


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.config")
    found = [obj for _, obj in inspect.getmembers(module, inspect.isclass)
             if issubclass(obj, ServiceSettings) and obj.__module__ == module.__name__]
    assert len(found) == 1, f"services.{service}.config should define one settings class: {found}"
    return found[0]


def env_names(cls: type[ServiceSettings], name: str, field: FieldInfo) -> set[str]:
    """Environment variable names pydantic-settings reads for a field (upper-cased)."""
    alias = field.validation_alias or field.alias
    if isinstance(alias, str):
        return {alias.upper()}
    if isinstance(alias, AliasChoices):
        return {c.upper() for c in alias.choices if isinstance(c, str)}
    if isinstance(alias, AliasPath):
        return {str(alias.path[0]).upper()}
    prefix = cls.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper()}


def field_env(cls: type[ServiceSettings]) -> dict[str, set[str]]:
    return {name: env_names(cls, name, f) for name, f in cls.model_fields.items()}


def is_set(names: set[str], env: dict[str, str]) -> bool:
    upper = {k.upper(): v for k, v in env.items()}
    return any(n in upper and interpolate(upper[n]) != "" for n in names)


def built_from_dockerfile(service: dict[str, Any]) -> bool:
    build = service.get("build")
    return (isinstance(build, dict) and build.get("context") == "."
            and build.get("dockerfile") == DOCKERFILE)


# --- the services ----------------------------------------------------------------------------


def test_settings_use_the_xf_prefix() -> None:
    for service in SERVICES:
        assert settings_class(service).model_config.get("env_prefix") == "XF_"


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_built_from_the_one_dockerfile(compose: dict[str, Any], service: str) -> None:
    assert service in compose["services"], f"{service} missing from docker-compose.yml"
    svc = compose["services"][service]
    assert built_from_dockerfile(svc), f"{service}: build must be context . + {DOCKERFILE}"
    assert environment(svc).get("SERVICE") == service
    entry = svc.get("entrypoint")
    entry_text = " ".join(entry) if isinstance(entry, list) else str(entry or "")
    assert "entrypoint.sh" in entry_text, f"{service} must start through entrypoint.sh"


@pytest.mark.parametrize("service", SERVICES)
def test_service_port_is_published_and_configured(compose: dict[str, Any], service: str) -> None:
    svc = compose["services"][service]
    port = SERVICE_PORTS[service]
    env = environment(svc)
    assert int(interpolate(env["XF_HTTP_PORT"])) == port
    assert published_ports(svc).get(port) == port, f"{service} must publish {port}:{port}"
    # Listening on loopback inside a container is unreachable from anywhere else.
    assert interpolate(env["XF_HTTP_HOST"]) == "0.0.0.0"
    health = svc.get("healthcheck") or {}
    test = health.get("test")
    test_text = " ".join(test) if isinstance(test, list) else str(test or "")
    assert f":{port}/readyz" in test_text, f"{service} healthcheck must probe /readyz on {port}"


@pytest.mark.parametrize("service", SERVICES)
def test_service_waits_for_its_dependencies(compose: dict[str, Any], service: str) -> None:
    depends = compose["services"][service].get("depends_on")
    assert isinstance(depends, dict), f"{service}: depends_on needs conditions"
    assert depends.get("postgres", {}).get("condition") == "service_healthy"
    assert depends.get("kafka", {}).get("condition") == "service_healthy"
    assert depends.get("topics", {}).get("condition") == "service_completed_successfully"
    for name in depends:
        assert name in compose["services"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_required_setting_is_set(compose: dict[str, Any], service: str) -> None:
    cls = settings_class(service)
    env = environment(compose["services"][service])
    required = {name for name, f in cls.model_fields.items() if f.is_required()}
    if service == "intake":
        required |= {name for name in INTAKE_KEY_FIELDS if name in cls.model_fields}
    # Not required by pydantic, but wrong here anyway: these defaults suit the host only.
    required |= {"database_url", "kafka_bootstrap", "http_host", "http_port"}
    names = field_env(cls)
    missing = sorted(f"{'/'.join(sorted(names[f]))} ({f})" for f in required
                     if not is_set(names[f], env))
    assert not missing, f"{service}: docker-compose.yml does not set {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_no_setting_defaults_into_the_source_tree(compose: dict[str, Any], service: str) -> None:
    """In the image the code is in site-packages: a default under the repository root points
    at a path that does not exist there (or is not writable), so compose must set it."""
    cls = settings_class(service)
    env = environment(compose["services"][service])
    names = field_env(cls)
    unset = []
    for name, f in cls.model_fields.items():
        default = f.get_default(call_default_factory=True)
        if isinstance(default, Path) and default.is_relative_to(REPO_ROOT):
            if not is_set(names[name], env):
                unset.append(f"{'/'.join(sorted(names[name]))} (default {default})")
    assert not unset, f"{service}: set these in docker-compose.yml: {unset}"


def _xf_services(compose: dict[str, Any]) -> list[str]:
    return [name for name, svc in compose["services"].items() if built_from_dockerfile(svc)]


def test_every_xf_variable_in_compose_is_a_real_setting(compose: dict[str, Any]) -> None:
    problems = []
    for name in _xf_services(compose):
        svc = compose["services"][name]
        service = environment(svc).get("SERVICE", "")
        cls = settings_class(service) if service in SERVICES else ServiceSettings
        known = set().union(*field_env(cls).values())
        for var in environment(svc):
            if var.upper().startswith("XF_") and var.upper() not in known:
                problems.append(f"{name}: {var}")
    assert not problems, f"XF_* variables no settings field reads (typo?): {problems}"


def test_secrets_are_required_from_the_environment_and_the_rest_has_defaults() -> None:
    """No secret in git: a secret is ``${NAME:?message}`` (compose stops and names it), every
    other variable has a default so the file needs nothing else."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    found = [(m.group("name"), m.group("op") or "") for m in _VAR.finditer(text)]
    secrets = {name for name, _ in found if _SECRET.search(name)}
    assert {"XF_PII_KEY", "XF_PSEUDONYM_KEY", "XF_SIGNING_KEYS", "XF_TOKENS_FILE_HOST",
            "XF_PG_SUPERUSER_PASSWORD"} <= secrets
    with_default = sorted(n for n, op in found if n in secrets and not op.endswith("?"))
    assert not with_default, f"secrets with a default in git: {with_default}"
    bare = sorted({n for n, op in found if n not in secrets and not op.endswith("-")})
    assert not bare, f"non-secret variables without a default: {bare}"


def test_the_image_bakes_in_no_token_file() -> None:
    lines = (ROOT / DOCKERFILE).read_text(encoding="utf-8").splitlines()
    instructions = [line for line in lines if not line.lstrip().startswith("#")]
    assert not [i for i in instructions if "tokens" in i.lower()], instructions


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_uses_its_own_role_and_database(compose: dict[str, Any],
                                                     service: str) -> None:
    raw = environment(compose["services"][service])["XF_DATABASE_URL"]
    url = urlsplit(interpolate(raw))
    role = role_name(service)
    assert url.scheme in ("postgresql", "postgres")
    assert url.username == role
    assert url.path.lstrip("/") == role, f"{service} must use database {role}"
    assert url.hostname == "postgres" and "postgres" in compose["services"]
    # The password is the very expression the init script creates the role with.
    pg_env = environment(compose["services"]["postgres"])
    expr = pg_env[f"XF_PG_PASSWORD_{service.upper()}"]
    assert f"{role}:{expr}@" in raw
    assert interpolate(expr), f"XF_PG_PASSWORD_{service.upper()} needs a development default"


def test_postgres_runs_the_init_script(compose: dict[str, Any]) -> None:
    pg = compose["services"]["postgres"]
    assert str(pg["image"]).startswith("postgres:15")
    mounts = [str(v) for v in pg.get("volumes") or []]
    assert any(m.startswith("./deploy/docker/postgres-init.sh:/docker-entrypoint-initdb.d/")
               for m in mounts), mounts
    script = PG_INIT.read_text(encoding="utf-8")
    assert "REVOKE ALL ON DATABASE" in script and "FROM PUBLIC" in script
    assert "GRANT CONNECT" in script
    for service in SERVICES:
        assert service in script
    assert "healthcheck" in pg


# --- Kafka and topics ------------------------------------------------------------------------


def test_kafka_is_a_single_kraft_node_without_auto_create(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    image = str(kafka["image"])
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", image), f"pin a 4.x tag: {image}"
    env = environment(kafka)
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_NODE_ID"] == "1"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        assert env[key] == "1", key
    assert "healthcheck" in kafka


def test_services_bootstrap_from_an_advertised_listener(compose: dict[str, Any]) -> None:
    advertised = environment(compose["services"]["kafka"])["KAFKA_ADVERTISED_LISTENERS"]
    endpoints = {item.split("://", 1)[1] for item in advertised.split(",")}
    for name in _xf_services(compose):
        bootstrap = interpolate(environment(compose["services"][name])["XF_KAFKA_BOOTSTRAP"])
        assert bootstrap in endpoints, f"{name}: {bootstrap} is not one of {endpoints}"


def test_topics_job_creates_the_topics(compose: dict[str, Any]) -> None:
    topics = compose["services"]["topics"]
    assert built_from_dockerfile(topics)
    command = topics.get("command")
    command_text = " ".join(command) if isinstance(command, list) else str(command)
    assert "xf create-topics" in command_text
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"


# --- images and the Dockerfile ---------------------------------------------------------------


def test_third_party_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if built_from_dockerfile(svc):
            continue
        image = str(svc["image"])
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest", f"{name}: pin the image tag ({image})"


def test_dockerfile_and_entrypoint() -> None:
    dockerfile = (ROOT / DOCKERFILE).read_text(encoding="utf-8")
    assert "python:3.11-slim" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "run as a non-root user"
    entry = ENTRYPOINT.read_text(encoding="utf-8")
    assert 'xf migrate "$SERVICE"' in entry
    assert 'exec python -m "services.$SERVICE"' in entry
    assert ENTRYPOINT.stat().st_mode & 0o111, "entrypoint.sh must be executable"


# --- Prometheus and Grafana ------------------------------------------------------------------


def _container_mounts(svc: dict[str, Any]) -> dict[str, str]:
    """container path -> host path of bind mounts (short syntax)."""
    out = {}
    for entry in svc.get("volumes") or []:
        parts = str(entry).split(":")
        if parts[0].startswith("."):
            out[parts[1]] = parts[0]
    return out


def test_prometheus_scrapes_exactly_the_four_services(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    targets = [t for job in config["scrape_configs"]
               for group in job.get("static_configs", []) for t in group["targets"]]
    expected = sorted(f"{svc}:{SERVICE_PORTS[svc] + METRICS_PORT_SHIFT}" for svc in SERVICES)
    assert sorted(targets) == expected
    assert all(job.get("metrics_path", "/metrics") == "/metrics"
               for job in config["scrape_configs"])
    # Rule files resolve next to prometheus.yml, both here and in the container.
    mounts = _container_mounts(compose["services"]["prometheus"])
    config_dir = PurePosixPath("/etc/prometheus")
    assert mounts.get(str(config_dir / "prometheus.yml")) == "./deploy/prometheus/prometheus.yml"
    assert config["rule_files"], "rule_files must list alerts.yml"
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS_DIR / rule_file).is_file(), rule_file
        in_container = config_dir / rule_file
        assert mounts.get(str(in_container)) == f"./deploy/prometheus/{rule_file}"


def test_grafana_provisioning(compose: dict[str, Any]) -> None:
    datasources = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yaml").read_text("utf-8"))
    (source,) = [d for d in datasources["datasources"] if d["type"] == "prometheus"]
    assert source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yaml").read_text("utf-8"))
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    mounts = _container_mounts(compose["services"]["grafana"])
    assert mounts.get(provider["options"]["path"]) == "./deploy/grafana/dashboards"
    for kind in ("datasources", "dashboards"):
        assert (mounts.get(f"/etc/grafana/provisioning/{kind}")
                == f"./deploy/grafana/provisioning/{kind}"), f"mount provisioning/{kind}"

    dashboard = json.loads((GRAFANA_DIR / "dashboards" / "xinfang.json").read_text("utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for metric in ("xinfang_cases_received_total", "xinfang_outbox_backlog_events",
                   "xinfang_outbox_oldest_unsent_age_seconds", "xinfang_dead_letters_total",
                   "xinfang_http_request_duration_seconds_bucket",
                   "xinfang_deadlines_overdue_open", "xinfang_stats_closure_rate_percent"):
        assert any(metric in e for e in exprs), f"no panel queries {metric}"
    # Gauges every instance computes from a shared database: max across instances, not sum.
    for metric in ("xinfang_deadlines_overdue_open", "xinfang_stats_closure_rate_percent"):
        for e in exprs:
            if metric in e:
                assert re.match(r"\s*max\b", e), f"take max across instances: {e}"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
