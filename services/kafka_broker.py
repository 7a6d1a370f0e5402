"""The project's own Apache Kafka broker (KRaft mode), run from Maven Central's jars: the Kafka
half of `Infra` (services/infra.py), which says where it lives and on which ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from services import kafka_security, prereqs
from services.processes import InfraError, pid_alive, port_open, run_captured, say, wait_until

KAFKA_DIR = Path(__file__).resolve().parent.parent / "deploy" / "kafka"
KAFKA_JARS = KAFKA_DIR / ".jars"
# A fixed cluster id keeps re-formatting reproducible; the log dir is ours alone.
KAFKA_CLUSTER_ID = "bWFsbC10by1ob21lLWthZg"


def ensure_kafka_jars() -> None:
    if list(KAFKA_JARS.glob("kafka_2.13-*.jar")):
        return
    say("Kafka: fetching the broker's jars from Maven Central (first run only, ~100 MB)")
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError("Maven (mvn) is needed to fetch Kafka: install it (apt-get install maven)")
    # Maven prints each artifact as it downloads: that is the progress the user sees.
    result = subprocess.run(
        [
            mvn,
            "-B",
            "-f",
            str(KAFKA_DIR / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={KAFKA_JARS}",
            "-DincludeScope=runtime",
        ],
        check=False,
    )
    if result.returncode != 0:
        raise InfraError("fetching Kafka from Maven Central failed: see Maven's output above")


def java_binary() -> str:
    java = prereqs.find_java(dict(os.environ))
    if java is None:
        raise InfraError("Java 17 or newer runs Kafka: `make up` says how to install it")
    return java


class KafkaBroker:
    """Infra's Kafka half: `Infra` (a dataclass) gives these their values."""

    home: Path
    kafka_port: int
    controller_port: int
    heap: str
    # The broker's JVM flags besides the heap.
    jvm_flags: tuple[str, ...]
    # A second listener with TLS and SASL (services/kafka_security.py), None for none.
    sasl_port: int | None
    # Only the instance `make up` uses follows KAFKA_BOOTSTRAP_SERVERS.
    honours_environment: bool

    @property
    def kafka_home(self) -> Path:
        return self.home / "kafka"

    def local_kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def kafka_bootstrap(self) -> str:
        """The broker in use: the one named by KAFKA_BOOTSTRAP_SERVERS, else our own."""
        if self.honours_environment and os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return self.local_kafka_bootstrap()

    def uses_external_kafka(self) -> bool:
        # Naming the project's own broker's address is not pointing elsewhere: we still run it.
        return self.kafka_bootstrap() != self.local_kafka_bootstrap()

    def _kafka_java(self, main_class: str, *args: str) -> list[str]:
        return [
            java_binary(),
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            *self.jvm_flags,
            f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.kafka_home / 'logs'}",
            "-cp",
            f"{KAFKA_JARS}/*",
            main_class,
            *args,
        ]

    @property
    def tls_dir(self) -> Path:
        return self.kafka_home / "tls"

    @property
    def kafka_properties_file(self) -> Path:
        return self.kafka_home / "server.properties"

    def render_kafka_properties(self) -> str:
        base = (KAFKA_DIR / "server.properties").read_text()
        base = base.replace("9092", str(self.kafka_port)).replace(
            "19093", str(self.controller_port)
        )
        rendered = base + f"\nlog.dirs={self.kafka_home / 'data'}\n"
        if self.sasl_port is not None:
            rendered += kafka_security.listener_properties(
                self.kafka_port, self.controller_port, self.sasl_port, self.tls_dir
            )
        return rendered

    def _kafka_properties(self) -> Path:
        self.kafka_properties_file.write_text(self.render_kafka_properties())
        return self.kafka_properties_file

    def _kafka_config_changed(self) -> bool:
        """Whether the running broker of ours was started with other settings than ours now."""
        if self.kafka_pid() is None or not self.kafka_properties_file.exists():
            return False
        return self.kafka_properties_file.read_text() != self.render_kafka_properties()

    def _add_scram_credentials(self) -> None:
        """The SASL account's SCRAM credentials live in the cluster's metadata: added (again,
        harmlessly) each time the broker starts."""
        result = run_captured(
            self._kafka_java(
                "kafka.admin.ConfigCommand",
                "--bootstrap-server",
                self.local_kafka_bootstrap(),
                "--alter",
                "--add-config",
                kafka_security.scram_credentials_argument(),
                "--entity-type",
                "users",
                "--entity-name",
                kafka_security.SASL_USERNAME,
            ),
            timeout=180,
        )
        if result.returncode != 0:
            raise InfraError(
                "could not add the local SCRAM account to Kafka:"
                f" {(result.stderr or result.stdout).strip()[-500:]}"
            )

    @property
    def kafka_pid_file(self) -> Path:
        return self.kafka_home / "kafka.pid"

    def kafka_pid(self) -> int | None:
        return pid_alive(self.kafka_pid_file)

    def kafka_running(self) -> bool:
        return port_open(self.kafka_port)

    def start_kafka(self) -> bool:
        """Returns whether this call started the broker."""
        if self.uses_external_kafka():
            say(f"Kafka: using {self.kafka_bootstrap()}")
            return False
        if self.kafka_running() and self._kafka_config_changed():
            say("Kafka: its configuration changed since it started; restarting it")
            self.stop_kafka()
        if self.kafka_running():
            say(f"Kafka: already running on 127.0.0.1:{self.kafka_port}")
            return False
        ensure_kafka_jars()
        (self.kafka_home / "logs").mkdir(parents=True, exist_ok=True)
        props = self._kafka_properties()
        if not (self.kafka_home / "data" / "meta.properties").exists():
            say("Kafka: formatting the KRaft log directory")
            result = run_captured(
                self._kafka_java(
                    "kafka.tools.StorageTool", "format", "-t", KAFKA_CLUSTER_ID, "-c", str(props)
                )
            )
            if result.returncode != 0:
                raise InfraError(f"formatting Kafka storage failed: {result.stdout}{result.stderr}")
        say(f"Kafka: starting on 127.0.0.1:{self.kafka_port} (heap {self.heap})")
        with open(self.kafka_home / "kafka.out", "ab") as out:
            process = subprocess.Popen(
                self._kafka_java("kafka.Kafka", str(props)),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.kafka_pid_file.write_text(str(process.pid))

        def ready() -> bool:
            if process.poll() is not None:
                raise InfraError(
                    f"Kafka exited at start; see {self.kafka_home / 'kafka.out'} and logs/"
                )
            return self.kafka_running()

        wait_until(ready, 120, "Kafka")
        if self.sasl_port is not None:
            self._add_scram_credentials()
        say("Kafka: up")
        return True

    def stop_kafka(self) -> None:
        pid = self.kafka_pid()
        if pid is None:
            return
        say("Kafka: stopping")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
        self.kafka_pid_file.unlink(missing_ok=True)

    def signal_kafka(self, signum: int) -> None:
        """kill -9, SIGSTOP, SIGCONT: what a fault injector does to its own broker."""
        pid = self.kafka_pid()
        if pid is None:
            raise InfraError(f"no Kafka of ours is running in {self.kafka_home}")
        os.kill(pid, signum)
        if signum == signal.SIGKILL:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            self.kafka_pid_file.unlink(missing_ok=True)
