"""How every Kafka client of the process authenticates: TLS, SASL, or neither.

A secured cluster needs the same options on every client: Faust's broker
credentials, aiokafka producers, consumers and admin clients, kafka-python's. The
front door builds one :class:`KafkaSecurity` from the settings and installs it with
:func:`configure` when it reads them; each place that opens a client adds
:func:`aiokafka_options` or :func:`kafka_python_options` (Faust:
:func:`faust_credentials`). The default, PLAINTEXT, adds nothing, so the embedded
broker and tests that never configure anything behave as before.

Secrets (the SASL password, the key's password) stay out of ``repr`` and logs.

Examples
--------
>>> plain = KafkaSecurity()
>>> plain.kafka_python()
{}
>>> scram = KafkaSecurity(protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
...                       username="worker", password="s3cret")
>>> scram
KafkaSecurity(protocol='SASL_PLAINTEXT', sasl_mechanism='SCRAM-SHA-512', username='worker', ...)
>>> sorted(scram.aiokafka())
['sasl_mechanism', 'sasl_plain_password', 'sasl_plain_username', 'security_protocol']
>>> KafkaSecurity(protocol="SASL_SSL")
Traceback (most recent call last):
...
creditbrain.core.errors.ConfigurationError: Kafka SASL_SSL needs a username and a password ...
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from creditbrain.core.errors import BrokerError, ConfigurationError

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

__all__ = [
    "KafkaSecurity",
    "KafkaTlsError",
    "aiokafka_options",
    "configure",
    "current",
    "faust_credentials",
    "kafka_python_options",
    "probe_tls",
]


class KafkaTlsError(BrokerError):
    """The TLS handshake with a Kafka broker failed: retrying will not help."""


@dataclass(frozen=True)
class KafkaSecurity:
    """The security options of one deployment's Kafka clients (plain values)."""

    protocol: Protocol = "PLAINTEXT"
    sasl_mechanism: Mechanism = "PLAIN"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password: str | None = field(default=None, repr=False)
    check_hostname: bool = True

    def __post_init__(self) -> None:
        if self.sasl and (not self.username or self.password is None):
            raise ConfigurationError(
                f"Kafka {self.protocol} needs a username and a password "
                "(CREDITBRAIN_KAFKA__SASL_USERNAME, CREDITBRAIN_KAFKA__SASL_PASSWORD)"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigurationError(
                "a Kafka client certificate needs both CREDITBRAIN_KAFKA__SSL_CERT_FILE "
                "and CREDITBRAIN_KAFKA__SSL_KEY_FILE"
            )

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted (SSL or SASL_SSL)."""
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        """Whether the client authenticates with SASL."""
        return self.protocol.startswith("SASL_")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context: the CA file (else the system's), the client certificate."""
        if not self.tls:
            return None
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
            if self.cert_file is not None:
                context.load_cert_chain(self.cert_file, self.key_file, self.key_password)
        except (OSError, ssl.SSLError) as error:
            raise ConfigurationError(f"cannot load the Kafka TLS files: {error}") from error
        context.check_hostname = self.check_hostname
        return context

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producers, consumers and admin clients."""
        if self.protocol == "PLAINTEXT":
            return {}
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            options["ssl_context"] = self.ssl_context()
        if self.sasl:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.username
            options["sasl_plain_password"] = self.password
        return options

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's clients: the same names as aiokafka's."""
        return self.aiokafka()

    def faust(self) -> Any:
        """Faust's ``broker_credentials`` (``None`` for PLAINTEXT)."""
        if self.protocol == "PLAINTEXT":
            return None
        import faust  # late: infra's broker tools do not need Faust loaded

        if self.sasl:
            return faust.SASLCredentials(
                username=self.username,
                password=self.password,
                mechanism=self.sasl_mechanism,
                ssl_context=self.ssl_context(),
            )
        return faust.SSLCredentials(self.ssl_context())


_lock = threading.Lock()
_current = KafkaSecurity()


def configure(security: KafkaSecurity) -> None:
    """Install ``security`` for every Kafka client this process opens from now on."""
    global _current
    with _lock:
        _current = security


def current() -> KafkaSecurity:
    """The process's Kafka security (PLAINTEXT until :func:`configure`)."""
    return _current


def aiokafka_options() -> dict[str, Any]:
    """The process's security as aiokafka keyword arguments (empty for PLAINTEXT)."""
    return _current.aiokafka()


def kafka_python_options() -> dict[str, Any]:
    """The process's security as kafka-python keyword arguments (empty for PLAINTEXT)."""
    return _current.kafka_python()


def faust_credentials() -> Any:
    """The process's security as Faust ``broker_credentials`` (``None`` for PLAINTEXT)."""
    return _current.faust()


def probe_tls(bootstrap: str, security: KafkaSecurity | None = None, timeout: float = 5) -> None:
    """Complete a TLS handshake with the first bootstrap server, or raise one clear line.

    The Kafka clients report a failed handshake only as "unable to bootstrap" after
    their timeout, with the reason in a log; this says why at once. A failed handshake
    raises :class:`KafkaTlsError`, an unreachable server plain :class:`BrokerError`.
    """
    security = security or _current
    context = security.ssl_context()
    if context is None:
        return
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with (
            socket.create_connection((host, int(port)), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return
    except ssl.SSLCertVerificationError as error:
        reason = error.verify_message or error.reason or str(error)
        raise KafkaTlsError(
            f"TLS to the Kafka broker {host}:{port} failed: its certificate is not trusted "
            f"({reason}); check CREDITBRAIN_KAFKA__SSL_CA_FILE"
        ) from None
    except ssl.SSLError as error:
        raise KafkaTlsError(f"TLS to the Kafka broker {host}:{port} failed: {error}") from None
    except OSError as error:
        raise BrokerError(f"cannot reach the Kafka broker {host}:{port}: {error}") from None
