"""The one settings class of creditbrain, read by the front door (CLI, API, run-time assembly).

Values come from ``CREDITBRAIN_*`` environment variables (nested groups use a
double underscore, e.g. ``CREDITBRAIN_KAFKA__BOOTSTRAP``), then from an optional
``creditbrain.env`` file, then from the defaults below, which work on a fresh
machine: an embedded broker and a chDB store under ``./.creditbrain``.

Settings are built once (:func:`get_settings`) and passed down as plain values (the
layers below never import this module; tests/test_layers.py checks it);
nothing else reads ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from creditbrain.core.errors import ConfigurationError
from creditbrain.infra import kafka_security
from creditbrain.infra.kafka_security import KafkaSecurity

ENV_PREFIX = "CREDITBRAIN_"


class KafkaSettings(BaseModel):
    """Where the broker is and how the contract's topics are laid out."""

    model_config = ConfigDict(frozen=True)

    bootstrap: str | None = Field(
        default=None,
        description="Kafka bootstrap servers (host:port,...). Unset: start the embedded broker.",
    )
    tansu: bool = Field(
        default=False,
        description="The configured broker is Tansu (e.g. `creditbrain broker up`): apply its "
        "work-arounds. The broker creditbrain embeds itself always gets them.",
    )
    topic_prefix: str = "credit"
    partitions: int = Field(default=4, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1)
    acks: Literal["1", "all"] | None = Field(
        default=None,
        description="Acknowledgement the worker's producers wait for: `all` (every in-sync "
        "replica, so min.insync.replicas protects outputs) or `1` (the leader only). "
        "Default: `all`, except `1` on the embedded broker (one node, where `all` adds "
        "nothing and stalled the worker's offset commits, measured).",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How every Kafka client connects (docs/operations.md)."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_file: Path | None = Field(
        default=None, description="PEM file of the CA(s) that signed the brokers' certificates."
    )
    ssl_cert_file: Path | None = Field(default=None, description="Client certificate (mTLS).")
    ssl_key_file: Path | None = Field(default=None, description="Client certificate's key.")
    ssl_key_password: SecretStr | None = None
    ssl_check_hostname: bool = True

    def security(self) -> KafkaSecurity:
        """The options every Kafka client gets, as the layers below take them."""

        def text(path: Path | None) -> str | None:
            return None if path is None else str(path)

        def secret(value: SecretStr | None) -> str | None:
            return None if value is None else value.get_secret_value()

        return KafkaSecurity(
            protocol=self.security_protocol,
            sasl_mechanism=self.sasl_mechanism,
            username=self.sasl_username,
            password=secret(self.sasl_password),
            ca_file=text(self.ssl_ca_file),
            cert_file=text(self.ssl_cert_file),
            key_file=text(self.ssl_key_file),
            key_password=secret(self.ssl_key_password),
            check_hostname=self.ssl_check_hostname,
        )


class ClickHouseSettings(BaseModel):
    """Where history is stored: a chDB path (embedded) or a ClickHouse server URL."""

    model_config = ConfigDict(frozen=True)

    dsn: SecretStr | None = Field(
        default=None,
        description="chdb:///path or http(s)://user:password@host:8123 (a secret: it may hold "
        "the password). Unset: chDB under data_dir.",
    )
    database: str = "creditbrain"
    cluster: str | None = Field(
        default=None, description="Render migrations for this ClickHouse cluster (ON CLUSTER)."
    )


class StreamSettings(BaseModel):
    """How the worker consumes and keeps state."""

    model_config = ConfigDict(frozen=True)

    app_id: str = Field(default="creditbrain", description="Faust app id = consumer group.")
    state_store: str = Field(default="memory", description="memory, or rocksdb for large state.")
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    batch_within_s: float = Field(default=0.02, gt=0, le=10)
    models: bool = Field(
        default=True,
        description="Run the online models (early warning, city-level series); off: rules only.",
    )
    checkpoint_interval_s: float = Field(
        default=30.0, gt=0, le=3600, description="Seconds between checkpoints of the models."
    )


class ApiKeySettings(BaseModel):
    """One API key: who holds it, the role it grants and, for supervisors, their scope.

    Only the key's SHA-256 (hex) is configured; the key itself is never stored or logged.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, description="Who holds the key; audit rows name it.")
    role: Literal["regulator", "supervisor", "leadership", "grid", "service_hall", "admin"]
    sectors: frozenset[str] = Field(default=frozenset(), description="A supervisor's sectors.")
    districts: frozenset[str] = Field(default=frozenset(), description="A supervisor's districts.")
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the key, hex.")


class ApiSettings(BaseModel):
    """The HTTP API: where it listens, who may call it, how often, what it shows."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8600, ge=0, le=65535)
    keys: tuple[ApiKeySettings, ...] = Field(
        default=(),
        description="API keys (JSON list in CREDITBRAIN_API__KEYS). Empty: the API refuses to "
        "start, unless the demo keys are switched on.",
    )
    demo_keys: bool | None = Field(
        default=None,
        description="With no keys configured, accept the public demo keys (on loopback only). "
        "Unset: only `creditbrain demo` and `serve` on the embedded store switch them on, "
        "and say so; false: never.",
    )
    credit_checks_per_minute: float = Field(default=120, gt=0, description="Per key, sustained.")
    credit_check_burst: int = Field(default=20, ge=1, description="Per key, at once.")
    reads_per_minute: float = Field(
        default=300,
        gt=0,
        description="Per key, sustained cost of reads (alerts, policies, subscriptions, "
        "metrics); a read costs 1 plus 1 per 100 rows asked for.",
    )
    read_burst: int = Field(default=40, ge=1, description="Per key, read cost at once.")
    writes_per_minute: float = Field(
        default=300, gt=0, description="Per key, sustained (acks, policy changes, subscriptions)."
    )
    write_burst: int = Field(default=30, ge=1, description="Per key, at once.")
    refused_keys_per_minute: float = Field(
        default=60, gt=0, description="Per client address, requests with no valid key."
    )
    # 512 KiB holds the largest body a route takes: a watch list of 10,000 credit codes.
    max_body_bytes: int = Field(
        default=512 * 1024, ge=1024, le=64 * 1024 * 1024, description="Largest request body (413)."
    )
    score_history: int = Field(default=20, ge=0, le=1000, description="Score changes shown.")
    measures_file: Path | None = Field(
        default=None, description="JSON catalogue of joint reward/punishment measures."
    )


class WebhookSettings(BaseModel):
    """Signed webhook delivery of warnings: retries, timeouts, its consumer group."""

    model_config = ConfigDict(frozen=True)

    group_id: str = "creditbrain-webhooks"
    attempts: int = Field(default=5, ge=1, le=50)
    base_delay_s: float = Field(default=1.0, ge=0)
    max_delay_s: float = Field(default=60.0, ge=0)
    timeout_s: float = Field(default=10.0, gt=0)
    pause_after_failure_s: float = Field(
        default=60.0,
        ge=0,
        description="After a dead letter, later warnings for that subscriber go straight to "
        "dead letters for this long, so one subscriber that is down does not stall the others.",
    )
    refresh_s: float = Field(default=5.0, gt=0, description="How often subscriptions reload.")
    replay_every_s: float = Field(
        default=30.0,
        ge=0,
        description="How often dead letters are re-sent to subscribers that answer again "
        "(0: only on POST /subscriptions/{id}/replay).",
    )
    allow_targets: tuple[str, ...] = Field(
        default=(),
        description="Networks (CIDR or single addresses) webhooks may reach although they are "
        "not public: loopback, private, link-local ... addresses are refused otherwise.",
    )

    @field_validator("allow_targets")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an address or a CIDR network") from None
        return value


class CaseSettings(BaseModel):
    """Cases: routing and deadlines, the working-day calendar, inspection rates (files)."""

    model_config = ConfigDict(frozen=True)

    config_file: Path | None = Field(
        default=None, description="JSON routing and deadlines of cases (CaseConfig)."
    )
    calendar_file: Path | None = Field(
        default=None, description="Working-day calendar (TOML); default: the shipped one."
    )
    inspections_file: Path | None = Field(
        default=None, description="JSON inspection rates by grade and sector."
    )
    group_id: str | None = Field(
        default=None, description="Consumer group of the case desk; default `<app id>-cases`."
    )
    desk: bool = Field(
        default=True, description="Run the case desk beside the worker and sink (`serve`)."
    )


class MetricsSettings(BaseModel):
    """Each process's metrics port: ``/metrics`` (Prometheus) and ``/health``."""

    model_config = ConfigDict(frozen=True)

    host: str = Field(default="127.0.0.1", description="Address of the metrics port.")
    port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Metrics port of a worker or sink (0: any free port). Unset: none. "
        "The API serves /metrics on its own port.",
    )


class Settings(BaseSettings):
    """Configuration of one creditbrain deployment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file="creditbrain.env",
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Field(default=Path(".creditbrain"), description="Embedded data lives here.")
    city_code: str = "371100"
    pseudonym_key: SecretStr = Field(
        default=SecretStr("creditbrain-demo-pseudonym-key-change-me"),
        description="HMAC-SHA256 key that turns resident ids into pseudonyms.",
    )
    credit_code_allow_list: frozenset[str] = Field(
        default=frozenset(),
        description="Historic credit codes admitted although their check digit fails.",
    )
    max_message_bytes: int = 1024 * 1024
    scorecard_file: Path | None = Field(
        default=None,
        description="Scorecard file (TOML or JSON): changes to the default weights and periods, "
        "per-sector overrides, the weighting of persons (docs/operations.md). Read by the "
        "worker, `score`, `backtest` and the credit check alike. Unset: the default scorecard.",
    )
    kafka: KafkaSettings = KafkaSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    stream: StreamSettings = StreamSettings()
    api: ApiSettings = ApiSettings()
    webhooks: WebhookSettings = WebhookSettings()
    cases: CaseSettings = CaseSettings()
    metrics: MetricsSettings = MetricsSettings()

    @property
    def clickhouse_dsn(self) -> str:
        """The DSN actually used: the configured one, else chDB under ``data_dir``."""
        if self.clickhouse.dsn and self.clickhouse.dsn.get_secret_value():
            return self.clickhouse.dsn.get_secret_value()
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict safe to log: secrets stay masked."""
        return self.model_dump(mode="json")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; a bad value is a one-line ConfigurationError."""
    try:
        settings = Settings()
    except ValidationError as error:
        raise ConfigurationError(describe_invalid(error)) from error
    except SettingsError as error:
        raise ConfigurationError(describe_unparsable(error, dict(os.environ))) from error
    # Every Kafka client of the process, whichever layer opens it, connects this way.
    kafka_security.configure(settings.kafka.security())
    return settings


def env_name(loc: tuple[int | str, ...]) -> str:
    """The variable that sets the field at ``loc``, items of a list after it.

    >>> env_name(("kafka", "partitions"))
    'CREDITBRAIN_KAFKA__PARTITIONS'
    >>> env_name(("api", "keys", 0, "role"))
    'CREDITBRAIN_API__KEYS (item 0, role)'
    """
    names: list[str] = []
    for index, part in enumerate(loc):
        if not isinstance(part, str):
            inner = ", ".join(str(p) for p in loc[index:])
            return f"{ENV_PREFIX}{'__'.join(names).upper()} (item {inner})"
        names.append(part)
    return ENV_PREFIX + "__".join(names).upper()


def describe_invalid(error: ValidationError) -> str:
    """One line naming each bad variable and what it must be.

    >>> try:
    ...     Settings(kafka={"partitions": "abc"})
    ... except ValidationError as error:
    ...     print(describe_invalid(error))
    CREDITBRAIN_KAFKA__PARTITIONS must be a valid integer, unable to parse string as an integer
    """
    parts = []
    for problem in error.errors(include_url=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        message = re.sub(r"^(Input|String|Value|List|Tuple|Set) should", "must", message)
        if not message.startswith("must"):
            message = f"is invalid: {message}"
        parts.append(f"{env_name(tuple(problem['loc']))} {message}")
    return "; ".join(parts)


def describe_unparsable(error: SettingsError, environ: dict[str, str]) -> str:
    """One line for a list or object variable whose value is not JSON.

    pydantic-settings names only the top-level field; the variable is found again by
    trying the JSON of every structured ``CREDITBRAIN_*`` value set.

    >>> print(describe_unparsable(SettingsError("..."), {"CREDITBRAIN_API__KEYS": "not json"}))
    CREDITBRAIN_API__KEYS must be JSON (a list or an object), not 'not json'
    """
    for name, value in sorted(environ.items()):
        if not name.upper().startswith(ENV_PREFIX) or not _structured(name):
            continue
        try:
            json.loads(value)
        except ValueError:
            shown = value if len(value) <= 40 else value[:37] + "..."
            return f"{name.upper()} must be JSON (a list or an object), not {shown!r}"
    return f"a CREDITBRAIN_* setting could not be read: {error}"


def _structured(name: str) -> bool:
    """Whether the variable ``name`` sets a list, set or object field (read as JSON)."""
    model: type[BaseModel] = Settings
    path = name.upper().removeprefix(ENV_PREFIX).lower().split("__")
    for depth, part in enumerate(path):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if depth == len(path) - 1:
                return True
            model = annotation
            continue
        origin = get_origin(annotation)
        kinds = (tuple, list, set, frozenset, dict)
        return origin in kinds or any(get_origin(arg) in kinds for arg in get_args(annotation))
    return False
