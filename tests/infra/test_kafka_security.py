"""Kafka TLS/SASL settings: what each kind of client gets, and secrets kept out of logs."""

from __future__ import annotations

import ssl

import faust
import pytest

from creditbrain.core.errors import ConfigurationError
from creditbrain.infra import kafka_security
from creditbrain.infra.kafka_security import KafkaSecurity
from creditbrain.settings import Settings

PASSWORD = "pa55word"  # noqa: S105 - a made-up secret whose absence from logs is checked


def test_plaintext_adds_nothing_to_any_client() -> None:
    security = KafkaSecurity()
    assert security.aiokafka() == {} == security.kafka_python()
    assert security.faust() is None


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_gives_every_client_the_mechanism_credentials_and_tls(mechanism: str) -> None:
    settings = Settings(
        kafka={
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": mechanism,
            "sasl_username": "worker",
            "sasl_password": PASSWORD,
        }
    )
    security = settings.kafka.security()
    options = security.aiokafka()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == mechanism
    assert options["sasl_plain_username"] == "worker"
    assert options["sasl_plain_password"] == PASSWORD
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].check_hostname
    assert security.kafka_python().keys() == options.keys()
    credentials = security.faust()
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.mechanism.value == mechanism
    assert credentials.protocol.value == "SASL_SSL"


def test_ssl_alone_gives_faust_ssl_credentials() -> None:
    credentials = KafkaSecurity(protocol="SSL").faust()
    assert isinstance(credentials, faust.SSLCredentials)


def test_secrets_stay_out_of_repr_and_of_the_logged_settings() -> None:
    settings = Settings(
        kafka={
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_username": "worker",
            "sasl_password": PASSWORD,
            "ssl_key_password": "k3y-pass",
        }
    )
    shown = repr(settings) + str(settings.redacted()) + repr(settings.kafka.security())
    assert PASSWORD not in shown
    assert "k3y-pass" not in shown
    assert "worker" in shown


def test_sasl_without_a_password_is_a_configuration_error() -> None:
    settings = Settings(kafka={"security_protocol": "SASL_SSL", "sasl_username": "worker"})
    with pytest.raises(ConfigurationError, match="CREDITBRAIN_KAFKA__SASL_PASSWORD"):
        settings.kafka.security()


def test_a_missing_ca_file_is_one_line() -> None:
    security = KafkaSecurity(protocol="SSL", ca_file="/nonexistent/ca.pem")
    with pytest.raises(ConfigurationError, match="cannot load the Kafka TLS files"):
        security.aiokafka()


def test_get_settings_installs_the_security_for_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from creditbrain.settings import get_settings

    monkeypatch.setenv("CREDITBRAIN_KAFKA__SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("CREDITBRAIN_KAFKA__SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("CREDITBRAIN_KAFKA__SASL_USERNAME", "sink")
    monkeypatch.setenv("CREDITBRAIN_KAFKA__SASL_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    try:
        get_settings()
        assert kafka_security.aiokafka_options()["sasl_mechanism"] == "SCRAM-SHA-256"
    finally:
        get_settings.cache_clear()
        kafka_security.configure(KafkaSecurity())
