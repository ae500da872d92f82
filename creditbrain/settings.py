"""The one settings class every part of creditbrain may read.

Values come from ``CREDITBRAIN_*`` environment variables (nested groups use a
double underscore, e.g. ``CREDITBRAIN_KAFKA__BOOTSTRAP``), then from an optional
``creditbrain.env`` file, then from the defaults below, which work on a fresh
machine: an embedded broker and a chDB store under ``./.creditbrain``.

Settings are built once (:func:`get_settings`) and passed down as plain values;
nothing else reads ``os.environ``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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


class ClickHouseSettings(BaseModel):
    """Where history is stored: a chDB path (embedded) or a ClickHouse server URL."""

    model_config = ConfigDict(frozen=True)

    dsn: str | None = Field(
        default=None,
        description="chdb:///path or http(s)://user:pass@host:8123/db. Unset: chDB under data_dir.",
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


class Settings(BaseSettings):
    """Configuration of one creditbrain deployment."""

    model_config = SettingsConfigDict(
        env_prefix="CREDITBRAIN_",
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
    kafka: KafkaSettings = KafkaSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    stream: StreamSettings = StreamSettings()

    @property
    def clickhouse_dsn(self) -> str:
        """The DSN actually used: the configured one, else chDB under ``data_dir``."""
        if self.clickhouse.dsn:
            return self.clickhouse.dsn
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict safe to log: secrets stay masked."""
        return self.model_dump(mode="json")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
