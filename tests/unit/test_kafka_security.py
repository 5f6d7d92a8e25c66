"""The Kafka TLS and SASL settings reach aiokafka's arguments, for the services' broker (its
consumers and producer) and for the admin and replay clients alike."""

from __future__ import annotations

import ssl
from typing import Any

import certifi
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from services.runtime.broker import KafkaConnection, make_broker
from services.runtime.settings import Settings

SECURED: dict[str, Any] = {
    "kafka_bootstrap": "kafka.example.org:9093",
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "cma-indicator",
    "kafka_sasl_password": "s3cret-password",
    "kafka_ssl_cafile": certifi.where(),
}


def broker_client_arguments(settings: Settings) -> dict[str, Any]:
    """What FastStream hands aiokafka for the broker's clients."""
    broker = make_broker(settings, "indicator", CollectorRegistry())
    return dict(broker.config.broker_config.builder.keywords)


async def test_sasl_over_tls_reaches_the_broker_and_the_admin_client() -> None:
    settings = Settings(**SECURED)
    options = KafkaConnection.from_settings(settings).client_options()
    for arguments in (broker_client_arguments(settings), options):
        assert arguments["security_protocol"] == "SASL_SSL"
        assert arguments["sasl_mechanism"] == "SCRAM-SHA-512"
        assert arguments["sasl_plain_username"] == "cma-indicator"
        assert arguments["sasl_plain_password"] == "s3cret-password"
        context = arguments["ssl_context"]
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.cert_store_stats()["x509_ca"] > 0  # the CA file was loaded
    assert options["bootstrap_servers"] == "kafka.example.org:9093"
    await AIOKafkaAdminClient(**options).close()  # aiokafka accepts them as they are


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_each_sasl_mechanism_is_passed_as_named(mechanism: str) -> None:
    settings = Settings(**SECURED | {"kafka_sasl_mechanism": mechanism})
    assert broker_client_arguments(settings)["sasl_mechanism"] == mechanism


def test_tls_alone_sends_no_sasl_credentials() -> None:
    settings = Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=certifi.where())
    arguments = broker_client_arguments(settings)
    assert arguments["security_protocol"] == "SSL"
    assert isinstance(arguments["ssl_context"], ssl.SSLContext)
    assert "sasl_plain_password" not in arguments


def test_plaintext_is_the_default_and_passes_no_security_options() -> None:
    options = KafkaConnection.from_settings(Settings()).client_options()
    assert options == {"bootstrap_servers": "127.0.0.1:9092"}
    assert "sasl_mechanism" not in broker_client_arguments(Settings())


def test_sasl_without_credentials_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="CMA_KAFKA_SASL_USERNAME"):
        Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="cma")


def test_the_password_never_shows_in_the_connection_s_repr() -> None:
    assert "s3cret" not in repr(KafkaConnection.from_settings(Settings(**SECURED)))
