"""A SASL_SSL listener on the project's own broker, as a managed Kafka has one.

The local broker keeps its plaintext listener (what the suite uses by default) and gains a
second one with TLS and SASL (PLAIN, SCRAM-SHA-512), so the KAFKA_* security
settings are tested against a real broker. The CA and the broker's certificate are made here
(`<kafka home>/tls/`); the SASL account is a local development one, like the trust
authentication of the local PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

SASL_USERNAME = "mth-local"
# A local development account on a broker bound to 127.0.0.1, not a secret.
SASL_PASSWORD = "mth-local-sasl-password"
# One SCRAM mechanism is enough to prove the client's SCRAM (kafka-configs sets one a call).
SCRAM_MECHANISM = "SCRAM-SHA-512"


def tls_files(tls_dir: Path) -> tuple[Path, Path, str]:
    """(CA certificate, the broker's PKCS#12 key store, its password), made once."""
    ca_file, broker_file, password_file = (
        tls_dir / "ca.pem",
        tls_dir / "broker.p12",
        tls_dir / "broker.password",
    )
    if ca_file.exists() and broker_file.exists() and password_file.exists():
        return ca_file, broker_file, password_file.read_text().strip()
    tls_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mall-to-home local Kafka CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    # A PKCS#12 store the JVM reads: its PEM key stores need PBES2, which Java 17 lacks.
    password = secrets.token_urlsafe(24)
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50_000)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())
        .build(password.encode())
    )
    broker_file.write_bytes(
        pkcs12.serialize_key_and_certificates(b"kafka", key, cert, [ca_cert], encryption)
    )
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    password_file.write_text(password)
    return ca_file, broker_file, password


def listener_properties(
    kafka_port: int, controller_port: int, sasl_port: int, tls_dir: Path
) -> str:
    """server.properties lines (they override the template's) adding the SASL_SSL listener."""
    _, broker_file, password = tls_files(tls_dir)
    plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required"
        f' user_{SASL_USERNAME}="{SASL_PASSWORD}";'
    )
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    return "\n".join(
        [
            "# A second listener with TLS and SASL, as a managed cluster has (services/infra.py).",
            f"listeners=PLAINTEXT://127.0.0.1:{kafka_port},CONTROLLER://127.0.0.1:{controller_port},"
            f"SASL_SSL://127.0.0.1:{sasl_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{kafka_port},"
            f"SASL_SSL://127.0.0.1:{sasl_port}",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
            "SASL_SSL:SASL_SSL",
            f"sasl.enabled.mechanisms=PLAIN,{SCRAM_MECHANISM}",
            f"listener.name.sasl_ssl.plain.sasl.jaas.config={plain}",
            f"listener.name.sasl_ssl.{SCRAM_MECHANISM.lower()}.sasl.jaas.config={scram}",
            "listener.name.sasl_ssl.ssl.keystore.type=PKCS12",
            f"listener.name.sasl_ssl.ssl.keystore.location={broker_file}",
            f"listener.name.sasl_ssl.ssl.keystore.password={password}",
            f"listener.name.sasl_ssl.ssl.key.password={password}",
            "",
        ]
    )


def scram_credentials_argument() -> str:
    """The `--add-config` value of kafka-configs for the SCRAM credentials of the account."""
    return f"{SCRAM_MECHANISM}=[iterations=4096,password={SASL_PASSWORD}]"
