"""infra/compose.yaml: valid Compose, and every name in it points at something real.

No container engine runs here, so the file is checked statically: against the Compose
specification's JSON schema (vendored by check-jsonschema), by ``docker compose config``
when a Compose CLI is installed, and for its cross-references: services, volumes,
networks and mounted paths exist, every CREDITBRAIN_* variable is a field of
:class:`~creditbrain.settings.Settings`, the workers' bootstrap names the brokers'
listeners, Grafana's provisioning reaches the ClickHouse service, and the topics job
creates every topic of the contract.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from creditbrain.cli import app
from creditbrain.cli.deploy import pipeline_topics
from creditbrain.schemas.contract import (
    POLICIES,
    SHADOW_POLICIES,
    SNOOZES,
    topic_name,
    topic_specs,
)
from creditbrain.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
COMPOSE = INFRA / "compose.yaml"
ENV_EXAMPLE = INFRA / ".env.example"
_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def _dotenv(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def _interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``; ``$$`` is a ``$``."""
    if isinstance(value, dict):
        return {key: _interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        present = env.get(name)
        if operator in (":-", "-"):
            missing = present is None or (operator == ":-" and present == "")
            return argument if missing else str(present)
        if operator in (":?", "?") and (present is None or (operator == ":?" and not present)):
            raise KeyError(f"{name} is required: {argument}")
        return "" if present is None else present

    parts = value.split("$$")
    return "$".join(_VARIABLE.sub(one, part) for part in parts)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return _dotenv(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any], env_example: dict[str, str]) -> dict[str, Any]:
    """The file as Compose sees it with infra/.env.example as its .env."""
    interpolated = _interpolate(raw, env_example)
    assert isinstance(interpolated, dict)
    return interpolated


def _services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose["services"]
    assert isinstance(services, dict)
    return services


def _creditbrain_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in _services(compose).items()
        if str(service.get("image", "")).startswith("creditbrain:")
    }


def _environment(service: Mapping[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {str(key): str(value) for key, value in environment.items()}


# --- the Compose specification -----------------------------------------------------------


def test_the_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_can_fail(compose: dict[str, Any]) -> None:
    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["depends_on"] = "topics"
    broken["services"]["api"]["restart_policy"] = "always"
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(broken))
    assert len(errors) >= 2


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def test_docker_compose_accepts_the_file() -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no Compose CLI installed (`docker compose` plugin or `docker-compose`)")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- cross-references --------------------------------------------------------------------


def test_every_variable_is_documented_in_the_env_example(env_example: dict[str, str]) -> None:
    used = set(_VARIABLE.findall(COMPOSE.read_text()))
    assert {name for name, _, _ in used} == set(env_example)


def test_required_variables_fail_without_the_env_file(raw: dict[str, Any]) -> None:
    with pytest.raises(KeyError, match="is required"):
        _interpolate(raw, {})


def test_depends_on_names_services(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert dependency != name


def test_one_shot_jobs_gate_the_long_running_processes(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name in ("topics", "migrate"):
        assert services[name]["restart"] == "no"
    completed = "service_completed_successfully"
    assert services["worker"]["depends_on"]["topics"]["condition"] == completed
    for name in ("sink", "api"):
        assert services[name]["depends_on"]["topics"]["condition"] == completed
        assert services[name]["depends_on"]["migrate"]["condition"] == completed
    kafka = {name for name in services if name.startswith("kafka-")}
    assert set(services["topics"]["depends_on"]) == kafka
    assert set(services["migrate"]["depends_on"]) == {"clickhouse"}
    for name in kafka | {"clickhouse"}:
        assert "healthcheck" in services[name]


def test_volumes_networks_and_mounted_paths_exist(compose: dict[str, Any]) -> None:
    declared_volumes = set(compose.get("volumes", {}))
    declared_networks = set(compose.get("networks", {}))
    used_volumes = set()
    for name, service in _services(compose).items():
        for network in service.get("networks", []):
            assert network in declared_networks, f"{name}: network {network}"
        for env_file in service.get("env_file", []):
            path = env_file["path"] if isinstance(env_file, dict) else env_file
            assert (INFRA / path).exists(), f"{name}: env file {path}"
        build = service.get("build")
        if build:
            context = (INFRA / build["context"]).resolve()
            assert (context / build.get("dockerfile", "Dockerfile")).is_file()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (INFRA / source).resolve().exists(), f"{name}: bind mount {source}"
            else:
                assert source in declared_volumes, f"{name}: volume {source}"
                used_volumes.add(source)
    assert used_volumes == declared_volumes


def test_the_commands_exist_in_the_cli(compose: dict[str, Any]) -> None:
    runner = CliRunner()
    for name, service in _creditbrain_services(compose).items():
        command = [str(part) for part in service["command"]]
        words = [part for part in command if not part.startswith("-")][:2]
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, (name, command, result.output)
        for option in (part for part in command if part.startswith("--")):
            assert option in result.output, (name, option)
    services = _creditbrain_services(compose).items()
    commands = {name: service["command"][:2] for name, service in services}
    assert commands["worker"] == ["worker", "--no-sink"]
    assert commands["sink"][0] == "sink"
    assert commands["api"][0] == "api"
    assert commands["migrate"] == ["db", "migrate"]
    assert commands["topics"] == ["topics", "create"]


# --- settings -------------------------------------------------------------------------------


def _field_path(variable: str) -> list[str]:
    return variable.removeprefix("CREDITBRAIN_").lower().split("__")


def _settings_of(environment: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    with monkeypatch.context() as patch:
        for name in [n for n in __import__("os").environ if n.startswith("CREDITBRAIN_")]:
            patch.delenv(name)
        for name, value in environment.items():
            patch.setenv(name, value)
        return Settings(_env_file=None)  # type: ignore[call-arg]


def _walk(model: type[BaseModel], path: list[str]) -> bool:
    field = model.model_fields.get(path[0])
    if field is None:
        return False
    if len(path) == 1:
        return True
    annotation = field.annotation
    return (
        isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
        and _walk(annotation, path[1:])
    )


@pytest.fixture
def settings_per_service(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, tuple[dict[str, str], Settings]]]:
    get_settings.cache_clear()
    result = {}
    for name, service in _creditbrain_services(compose).items():
        environment = _environment(service)
        result[name] = (environment, _settings_of(environment, monkeypatch))
    yield result
    get_settings.cache_clear()


def test_every_creditbrain_variable_is_a_settings_field(
    settings_per_service: dict[str, tuple[dict[str, str], Settings]],
) -> None:
    assert set(settings_per_service) == {"topics", "migrate", "worker", "sink", "api"}
    for name, (environment, settings) in settings_per_service.items():
        for variable, value in environment.items():
            assert variable.startswith("CREDITBRAIN_"), (name, variable)
            path = _field_path(variable)
            assert _walk(Settings, path), f"{name}: {variable} is not a Settings field"
            read: Any = settings
            for part in path:
                read = getattr(read, part)
            if isinstance(read, tuple):
                assert len(read) == len(json.loads(value)), (name, variable)
            elif hasattr(read, "get_secret_value"):
                assert read.get_secret_value() == value, (name, variable)
            else:
                assert str(read).lower() == value.lower(), (name, variable, read)


def test_the_settings_check_catches_a_misspelling(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _walk(Settings, _field_path("CREDITBRAIN_KAFKA__BOOTSTRAP_SERVERS"))
    assert not _walk(Settings, _field_path("CREDITBRAIN_CLICKHOUSE_DSN"))
    assert _walk(Settings, _field_path("CREDITBRAIN_CLICKHOUSE__DSN"))


def test_the_api_is_secured_for_production(
    settings_per_service: dict[str, tuple[dict[str, str], Settings]],
) -> None:
    _, settings = settings_per_service["api"]
    assert settings.api.keys, "the deployment must configure API keys"
    assert settings.api.demo_keys is False
    default_key = Settings.model_fields["pseudonym_key"].default.get_secret_value()
    assert settings.pseudonym_key.get_secret_value() != default_key


# --- Kafka ----------------------------------------------------------------------------------


def _brokers(compose: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    return {
        name: _environment(service)
        for name, service in _services(compose).items()
        if str(service.get("image", "")).startswith("apache/kafka:")
    }


def test_the_bootstrap_names_each_brokers_listener(
    compose: dict[str, Any], settings_per_service: dict[str, tuple[dict[str, str], Settings]]
) -> None:
    brokers = _brokers(compose)
    assert len(brokers) == 3
    for name, (_, settings) in settings_per_service.items():
        assert settings.kafka.bootstrap, name
        for address in settings.kafka.bootstrap.split(","):
            host, port = address.rsplit(":", 1)
            assert host in brokers, (name, address)
            broker = brokers[host]
            advertised = broker["KAFKA_ADVERTISED_LISTENERS"].split(",")
            assert f"PLAINTEXT://{host}:{port}" in advertised
            assert f"PLAINTEXT://:{port}" in broker["KAFKA_LISTENERS"].split(",")
            assert "backend" in _services(compose)[host]["networks"]


def test_the_brokers_form_one_replicated_quorum(
    compose: dict[str, Any], settings_per_service: dict[str, tuple[dict[str, str], Settings]]
) -> None:
    brokers = _brokers(compose)
    voters = {broker["KAFKA_CONTROLLER_QUORUM_VOTERS"] for broker in brokers.values()}
    assert len(voters) == 1
    expected = {f"{b['KAFKA_NODE_ID']}@{name}:9093" for name, b in brokers.items()}
    assert set(voters.pop().split(",")) == expected
    assert len({broker["CLUSTER_ID"] for broker in brokers.values()}) == 1
    _, settings = settings_per_service["topics"]
    for broker in brokers.values():
        min_isr = int(broker["KAFKA_MIN_INSYNC_REPLICAS"])
        assert 1 < min_isr < settings.kafka.replication_factor <= len(brokers)
        assert int(broker["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == settings.kafka.replication_factor
        assert int(broker["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == len(brokers)


def test_the_topics_job_creates_every_contract_topic(
    compose: dict[str, Any], settings_per_service: dict[str, tuple[dict[str, str], Settings]]
) -> None:
    _, settings = settings_per_service["topics"]
    kafka = settings.kafka
    planned = {s.name: s for s in pipeline_topics(kafka.topic_prefix, kafka.partitions, 3)}
    for spec in topic_specs(kafka.topic_prefix, kafka.partitions, kafka.replication_factor):
        assert planned[spec.name] == spec
    assert planned[topic_name(kafka.topic_prefix, POLICIES)].compacted
    # The three topics of standing decisions, read whole by every worker, are compacted.
    assert sorted(name for name, spec in planned.items() if spec.compacted) == sorted(
        topic_name(kafka.topic_prefix, suffix) for suffix in (POLICIES, SHADOW_POLICIES, SNOOZES)
    )
    workers = _services(compose)["worker"]["deploy"]["replicas"]
    assert int(workers) <= kafka.partitions


# --- ClickHouse and Grafana ---------------------------------------------------------------


def test_the_store_dsn_reaches_the_clickhouse_service(
    compose: dict[str, Any], settings_per_service: dict[str, tuple[dict[str, str], Settings]]
) -> None:
    clickhouse = _environment(_services(compose)["clickhouse"])
    for name, (_, settings) in settings_per_service.items():
        dsn = settings.clickhouse_dsn
        assert dsn == (
            f"http://{clickhouse['CLICKHOUSE_USER']}:{clickhouse['CLICKHOUSE_PASSWORD']}"
            "@clickhouse:8123"
        ), name
        assert settings.clickhouse.database == clickhouse["CLICKHOUSE_DB"]


def _grafana_mounts(compose: Mapping[str, Any]) -> dict[str, Path]:
    mounts = {}
    for volume in _services(compose)["grafana"]["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts[target] = (INFRA / source).resolve()
    return mounts


def test_grafana_mounts_the_repositorys_provisioning(compose: dict[str, Any]) -> None:
    mounts = _grafana_mounts(compose)
    provisioning = mounts["/etc/grafana/provisioning"]
    assert provisioning == INFRA / "grafana" / "provisioning"
    assert (provisioning / "datasources" / "clickhouse.yaml").is_file()
    providers = yaml.safe_load((provisioning / "dashboards" / "creditbrain.yaml").read_text())
    for provider in providers["providers"]:
        path = provider["options"]["path"]
        target, source = next((t, s) for t, s in mounts.items() if path.startswith(t + "/"))
        folder = source / path.removeprefix(target + "/")
        assert folder.is_dir(), path
        assert list(folder.glob("*.json")), path


def test_the_datasource_points_at_the_clickhouse_service(compose: dict[str, Any]) -> None:
    services = _services(compose)
    grafana = _environment(services["grafana"])
    datasource_file = INFRA / "grafana" / "provisioning" / "datasources" / "clickhouse.yaml"
    code = [line for line in datasource_file.read_text().splitlines() if not line.startswith("#")]
    needed = set(re.findall(r"\$\{(\w+)\}", "\n".join(code)))
    assert needed <= set(grafana), needed - set(grafana)
    datasource = yaml.safe_load(_interpolate(datasource_file.read_text(), grafana))
    [source] = datasource["datasources"]
    assert source["type"] in grafana["GF_PLUGINS_PREINSTALL_SYNC"].split(",")
    host = source["jsonData"]["host"]
    assert host in services and services[host]["image"].startswith("clickhouse/")
    assert "backend" in services[host]["networks"]
    assert (source["jsonData"]["protocol"], str(source["jsonData"]["port"])) == ("native", "9000")
    clickhouse = _environment(services[host])
    assert source["jsonData"]["defaultDatabase"] == clickhouse["CLICKHOUSE_DB"]


# --- the image -----------------------------------------------------------------------------


def test_the_image_holds_every_package_folder() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, re.MULTILINE))
    assert copied == folders
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not folders & ignored
    assert {"README.md", "pyproject.toml"}.isdisjoint(ignored)
    assert "infra/.env" in ignored


# --- monitoring ------------------------------------------------------------------------------


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        if service.get("restart") == "no":  # one-shot: its exit status is what others wait for
            continue
        assert "healthcheck" in service, name
        assert service["healthcheck"]["test"], name


def _metrics_port(service: Mapping[str, Any]) -> int:
    environment = _environment(service)
    if "CREDITBRAIN_METRICS__PORT" in environment:
        return int(environment["CREDITBRAIN_METRICS__PORT"])
    command = [str(part) for part in service["command"]]
    return int(command[command.index("--port") + 1])  # the API serves /metrics itself


def test_prometheus_scrapes_every_creditbrain_process(compose: dict[str, Any]) -> None:
    services = _services(compose)
    prometheus = services["prometheus"]
    mounts = {
        target: source
        for source, target in (volume.split(":")[:2] for volume in prometheus["volumes"])
    }
    config_file = (INFRA / mounts["/etc/prometheus/prometheus.yml"]).resolve()
    config = yaml.safe_load(config_file.read_text())
    scraped = {
        name: sd["port"]
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
    }
    processes = {
        name: service
        for name, service in _creditbrain_services(compose).items()
        if service.get("restart") != "no"
    }
    assert set(processes) == {"worker", "sink", "api"}
    for name, service in processes.items():
        assert scraped[name] == _metrics_port(service), name
    rules = (INFRA / mounts["/etc/prometheus/rules"]).resolve()
    assert list(rules.glob("*.yml")), rules
    [api] = [job for job in config["scrape_configs"] if job["job_name"] == "api"]
    assert api["authorization"]["credentials_file"].endswith("/prometheus-api-key")
    assert "prometheus-api-key" in prometheus["secrets"]


def test_grafana_reaches_the_prometheus_service(compose: dict[str, Any]) -> None:
    grafana = _environment(_services(compose)["grafana"])
    datasource_file = INFRA / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"
    datasource = yaml.safe_load(_interpolate(datasource_file.read_text(), grafana))
    [source] = datasource["datasources"]
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in _services(compose)["grafana"]["depends_on"]
