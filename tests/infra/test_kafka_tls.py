"""Kafka over TLS for real: the project's own clients through a TLS endpoint.

The embedded broker speaks plain TCP, so a loopback proxy process (tls_proxy.py)
terminates TLS in front of it, with a certificate signed by a CA made here; the
broker advertises the proxy's address, so every connection a client opens after
bootstrap goes through TLS too. One broker for the module; the process-wide
security is restored after each test.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kafka import KafkaConsumer, KafkaProducer

from creditbrain.infra import kafka_security
from creditbrain.infra.broker import EmbeddedBroker, TopicSpec, ensure_topics, wait_until_ready
from creditbrain.infra.groups import group_consumer
from creditbrain.infra.kafka_security import KafkaSecurity, KafkaTlsError
from creditbrain.schemas.contract import DLQ, topic_specs
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator
from creditbrain.streams.kafka_io import end_offsets
from creditbrain.streams.messages import ACCEPTED
from tests.fixtures.serve import ServeProcess

pytestmark = pytest.mark.integration


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def make_ca(folder: Path, common: str) -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Name]:
    """A self-signed CA: its PEM file, key and name."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{common}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert.subject


def make_server_cert(
    folder: Path, ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name
) -> tuple[Path, Path]:
    """A broker certificate for 127.0.0.1 and localhost, signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kafka.test"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = folder / "broker.pem", folder / "broker.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_path)
    return cert_path, key_path


@contextmanager
def tls_proxy(cert_file: Path, key_file: Path, target_port: int) -> Iterator[int]:
    """The TLS proxy process (tls_proxy.py) in front of ``target_port``; yields its port."""
    script = Path(__file__).with_name("tls_proxy.py")
    command = [sys.executable, str(script), str(cert_file), str(key_file), str(target_port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class TlsBroker:
    bootstrap: str
    ca_file: Path
    other_ca_file: Path


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    folder = tmp_path_factory.mktemp("tls")
    ca_file, ca_key, ca_name = make_ca(folder, "creditbrain-test-ca")
    other_ca_file, _, _ = make_ca(folder, "some-other-ca")
    cert_file, key_file = make_server_cert(folder, ca_key, ca_name)
    broker_port = _free_port()
    with tls_proxy(cert_file, key_file, broker_port) as proxy_port:
        bootstrap = f"127.0.0.1:{proxy_port}"
        kafka_security.configure(KafkaSecurity(protocol="SSL", ca_file=str(ca_file)))
        try:
            with EmbeddedBroker(port=broker_port, advertised=bootstrap):
                yield TlsBroker(bootstrap, ca_file, other_ca_file)
        finally:
            kafka_security.configure(KafkaSecurity())


@pytest.fixture
def trusted(tls_broker: TlsBroker) -> Iterator[TlsBroker]:
    kafka_security.configure(KafkaSecurity(protocol="SSL", ca_file=str(tls_broker.ca_file)))
    yield tls_broker
    kafka_security.configure(KafkaSecurity())


async def test_producer_and_group_consumer_exchange_messages_over_tls(trusted: TlsBroker) -> None:
    topic = f"tls-{uuid.uuid4().hex[:8]}"
    # kafka-python's admin client: topic creation through TLS.
    ensure_topics(trusted.bootstrap, [TopicSpec(topic, 2)])
    producer = AIOKafkaProducer(
        bootstrap_servers=trusted.bootstrap, **kafka_security.aiokafka_options()
    )
    await producer.start()
    try:
        for i in range(20):
            await producer.send(topic, f"message {i}".encode(), key=str(i).encode())
        await producer.flush()
    finally:
        await producer.stop()
    # The sink's and the webhook dispatcher's consumer (infra.groups).
    consumer = group_consumer(trusted.bootstrap, "tls-test", topic)
    await consumer.start()
    try:
        received: list[bytes] = []
        for _ in range(50):
            batches = await consumer.getmany(timeout_ms=200)
            received += [r.value for records in batches.values() for r in records if r.value]
            if len(received) >= 20:
                break
    finally:
        await consumer.stop()
    assert sorted(received) == sorted(f"message {i}".encode() for i in range(20))
    # kafka-python's consumer (lag and end offsets).
    from aiokafka import TopicPartition

    ends = end_offsets(trusted.bootstrap, [TopicPartition(topic, p) for p in range(2)])
    assert sum(ends.values()) == 20


def test_a_wrong_ca_fails_at_once_with_one_clear_line(tls_broker: TlsBroker) -> None:
    kafka_security.configure(KafkaSecurity(protocol="SSL", ca_file=str(tls_broker.other_ca_file)))
    try:
        with pytest.raises(KafkaTlsError) as caught:
            wait_until_ready(tls_broker.bootstrap, timeout=20)
    finally:
        kafka_security.configure(KafkaSecurity())
    message = str(caught.value)
    assert "\n" not in message
    assert "not trusted" in message
    assert "certificate verify failed" in message or "unable to get local issuer" in message
    assert "CREDITBRAIN_KAFKA__SSL_CA_FILE" in message


def test_plaintext_clients_do_not_get_through_the_tls_endpoint(tls_broker: TlsBroker) -> None:
    with pytest.raises(Exception, match="no Kafka broker answered"):
        wait_until_ready(tls_broker.bootstrap, timeout=2)


def test_a_worker_consumes_and_produces_over_tls(trusted: TlsBroker, tmp_path: Path) -> None:
    """A real ``creditbrain worker`` process (Faust with SSL credentials) behind TLS."""
    prefix = f"tls{uuid.uuid4().hex[:8]}"
    ensure_topics(trusted.bootstrap, topic_specs(prefix, 1, 1))
    worker = ServeProcess(
        trusted.bootstrap,
        tmp_path,
        prefix,
        f"tls-{prefix}",
        partitions=1,
        extra_env={
            "CREDITBRAIN_KAFKA__SECURITY_PROTOCOL": "SSL",
            "CREDITBRAIN_KAFKA__SSL_CA_FILE": str(trusted.ca_file),
        },
        command=("worker", "--no-sink"),
        log_name="worker.log",
    )
    worker.start()
    try:
        sim = Simulator(CityConfig.scaled(0.002, seed=7), pseudonym_key=b"test-pseudonym-key")
        events = list(sim.events())[:40]
        producer = KafkaProducer(
            bootstrap_servers=trusted.bootstrap, **kafka_security.kafka_python_options()
        )
        for event in events:
            producer.send(f"{prefix}.{event.topic_suffix}", key=event.key, value=event.value)
        producer.flush()
        producer.close()
        consumer = KafkaConsumer(
            f"{prefix}.{ACCEPTED}",
            f"{prefix}.{DLQ}",
            bootstrap_servers=trusted.bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            consumer_timeout_ms=1000,
            **kafka_security.kafka_python_options(),
        )
        seen = 0
        deadline = time.monotonic() + 150
        while seen < len(events) and time.monotonic() < deadline and worker.running:
            seen += sum(1 for _ in consumer)
        consumer.close()
    finally:
        code = worker.stop()
    assert seen >= len(events), worker.log()[-3000:]
    assert code == 0, worker.log()[-3000:]
