"""The KAFKA_* settings: the local broker by default, a managed cluster (TLS, SASL PLAIN or
SCRAM, replication) when set; a wrong combination names the variables to fix."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from shared.kafka import KafkaConfig
from shared.settings import KafkaSettings, describe_settings_error


def a_ca_file(folder: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_the_defaults_are_the_local_plaintext_broker_with_one_replica(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_REPLICATION_FACTOR", "KAFKA_SASL_MECHANISM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")

    config = KafkaSettings().kafka()

    assert config == KafkaConfig("127.0.0.1:9092")
    assert config.client_options() == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }
    assert config.topic_configs() == {}
    assert config.replication_factor == 1


def test_a_managed_cluster_gets_tls_scram_and_its_replication_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca = a_ca_file(tmp_path)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "b-1.example:9096,b-2.example:9096")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "mall-to-home")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret-from-the-vault")
    monkeypatch.setenv("KAFKA_SSL_CAFILE", str(ca))
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")

    settings = KafkaSettings()
    options = settings.kafka().client_options()

    assert "s3cret" not in repr(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "mall-to-home"
    assert options["sasl_plain_password"] == "s3cret-from-the-vault"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "test CA"),),)]
    assert settings.kafka().topic_configs() == {"min.insync.replicas": "2"}
    assert settings.kafka().replication_factor == 3


def test_sasl_without_credentials_is_refused_naming_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)

    with pytest.raises(ValidationError) as refused:
        KafkaSettings()

    assert describe_settings_error(refused.value, "ORDER_") == (
        "invalid settings: SASL_PLAINTEXT needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
    )


def test_more_in_sync_replicas_than_replicas_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "1")
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")

    with pytest.raises(ValidationError, match="KAFKA_MIN_INSYNC_REPLICAS"):
        KafkaSettings()
