"""Starts and stops the project's own PostgreSQL 15 cluster and Apache Kafka broker.

Both live in the git-ignored `.local/` folder. Each is skipped when the user points at an existing
server (`KAFKA_BOOTSTRAP_SERVERS`, or every `<SERVICE>_DATABASE_URL`). Every step is idempotent and
guarded by a file lock, so `make up` twice, or `make test` while `make up` runs, breaks nothing.

`Infra` is one such pair with its own folder and ports: the module's functions act on the one
`make up` and `make test` use; `make chaos` runs a second one under `.local/chaos/` that it may
kill and restart freely.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services import kafka_security, prereqs
from shared.local import DATABASES, LocalRuntime

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
KAFKA_DIR = ROOT / "deploy" / "kafka"
KAFKA_JARS = KAFKA_DIR / ".jars"
KAFKA_HOME = LOCAL / "kafka"
PG_HOME = LOCAL / "pg"
LOCAL_RUNTIME = LocalRuntime()
PG_PORT = LOCAL_RUNTIME.pg_port
KAFKA_PORT = LOCAL_RUNTIME.kafka_port
# KRaft's controller listener; beside the broker's port so two checkouts can each run their own.
KAFKA_CONTROLLER_PORT = int(os.environ.get("MTH_KAFKA_CONTROLLER_PORT", str(KAFKA_PORT + 10001)))
# A fixed cluster id keeps re-formatting reproducible; the log dir is ours alone.
KAFKA_CLUSTER_ID = "bWFsbC10by1ob21lLWthZg"
KAFKA_HEAP = os.environ.get("MTH_KAFKA_HEAP", "512m")

SERVICE_DATABASES = DATABASES


def say(message: str) -> None:
    print(f"[infra] {message}", flush=True)


class InfraError(RuntimeError):
    """A step failed; the message says what to do next."""


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.2)
    raise InfraError(f"{what} did not come up within {timeout:.0f} s")


def _pg_bin() -> Path:
    found = prereqs.find_pg_bin(dict(os.environ))
    if found is None:
        raise InfraError(
            "PostgreSQL server binaries not found: `make up` says how to install them"
        )
    return found


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; as any other user we run it as ourselves.
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, text=True, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


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


def _java() -> str:
    java = prereqs.find_java(dict(os.environ))
    if java is None:
        raise InfraError("Java 17 or newer runs Kafka: `make up` says how to install it")
    return java


def _pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


@dataclass(frozen=True)
class Infra:
    """One PostgreSQL cluster and one Kafka broker, in `home`, on these ports."""

    home: Path
    pg_port: int
    kafka_port: int
    controller_port: int
    heap: str = KAFKA_HEAP
    # The broker's JVM flags besides the heap.
    jvm_flags: tuple[str, ...] = ("-XX:+UseG1GC",)
    # A second listener with TLS and SASL (services/kafka_security.py), None for none.
    sasl_port: int | None = None
    # Only the instance `make up` uses follows KAFKA_BOOTSTRAP_SERVERS and *_DATABASE_URL.
    honours_environment: bool = False

    @property
    def kafka_home(self) -> Path:
        return self.home / "kafka"

    @property
    def pg_home(self) -> Path:
        return self.home / "pg"

    @property
    def pg_data(self) -> Path:
        return self.pg_home / "data"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "infra.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ------------------------------------------------------------ PostgreSQL

    def uses_external_databases(self) -> bool:
        return self.honours_environment and all(
            os.environ.get(f"{svc}_DATABASE_URL") for svc in SERVICE_DATABASES
        )

    def database_url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.pg_port}/{database}"

    def postgres_running(self) -> bool:
        if not (self.pg_data / "PG_VERSION").exists():
            return False
        pg_ctl = str(_pg_bin() / "pg_ctl")
        return _run(_as_postgres_user([pg_ctl, "-D", str(self.pg_data), "status"])).returncode == 0

    def start_postgres(self) -> bool:
        """Returns whether this call started the server (so its caller may stop it again)."""
        if self.uses_external_databases():
            say("PostgreSQL: using the servers named by *_DATABASE_URL")
            return False
        pg = _pg_bin()
        self.pg_home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.pg_home, owner.pw_uid, owner.pw_gid)
            # The postgres user must reach its data folder through the repo's parents.
            for parent in [self.pg_home.parent, *self.pg_home.parent.parents]:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
        if not (self.pg_data / "PG_VERSION").exists():
            say(f"PostgreSQL: initialising a cluster in {self.pg_data}")
            result = _run(
                _as_postgres_user(
                    [
                        str(pg / "initdb"),
                        "-D",
                        str(self.pg_data),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                    ]
                )
            )
            if result.returncode != 0:
                raise InfraError(f"initdb failed: {result.stderr.strip()}")
        started = False
        if self.postgres_running():
            say(f"PostgreSQL: already running on 127.0.0.1:{self.pg_port}")
        else:
            started = True
            if port_open(self.pg_port):
                raise InfraError(
                    f"port {self.pg_port} is taken by another program: stop it or set MTH_PG_PORT"
                )
            say(f"PostgreSQL: starting on 127.0.0.1:{self.pg_port}")
            self._pg_ctl_start()
        for database in SERVICE_DATABASES.values():
            self.create_database(database)
        return started

    def _pg_ctl_start(self) -> None:
        options = (
            f"-p {self.pg_port} -k {self.pg_home} -c listen_addresses=127.0.0.1"
            " -c max_connections=400 -c shared_buffers=256MB"
        )
        result = _run(
            _as_postgres_user(
                [
                    str(_pg_bin() / "pg_ctl"),
                    "-D",
                    str(self.pg_data),
                    "-l",
                    str(self.pg_home / "postgres.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        )
        if result.returncode != 0:
            raise InfraError(
                f"PostgreSQL did not start ({result.stdout.strip()});"
                f" see {self.pg_home / 'postgres.log'}"
            )

    def restart_postgres(self, mode: str = "immediate") -> None:
        """Stops the server (`immediate` is a crash: recovery runs at the start) and starts it."""
        _run(
            _as_postgres_user(
                [str(_pg_bin() / "pg_ctl"), "-D", str(self.pg_data), "-m", mode, "-w", "stop"]
            )
        )
        self._pg_ctl_start()

    def _psql(self, sql: str, database: str = "postgres") -> subprocess.CompletedProcess[str]:
        psql = _pg_bin() / "psql"
        return _run(
            [
                str(psql),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.pg_port),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                sql,
            ]
        )

    def create_database(self, database: str) -> None:
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'")
        if exists.stdout.strip() == "1":
            return
        result = self._psql(f'CREATE DATABASE "{database}"')
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise InfraError(f"could not create database {database}: {result.stderr.strip()}")

    def stop_postgres(self) -> None:
        if not self.postgres_running():
            return
        say("PostgreSQL: stopping")
        _run(
            _as_postgres_user(
                [str(_pg_bin() / "pg_ctl"), "-D", str(self.pg_data), "-m", "fast", "-w", "stop"]
            )
        )

    # ------------------------------------------------------------ Kafka

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
            _java(),
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
        result = _run(
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
        return _pid_alive(self.kafka_pid_file)

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
            result = _run(
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

    # ------------------------------------------------------------ both

    def env(self) -> dict[str, str]:
        """Environment that points the services at this infrastructure."""
        env: dict[str, str] = {"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap()}
        for svc, database in SERVICE_DATABASES.items():
            default = self.database_url(database)
            chosen = os.environ.get(f"{svc}_DATABASE_URL") if self.honours_environment else None
            env[f"{svc}_DATABASE_URL"] = chosen or default
        return env

    def up(self) -> bool:
        """Starts what is not running; True when it started anything."""
        with self.lock():
            started_postgres = self.start_postgres()
            started_kafka = self.start_kafka()
            from services.topics import create_topics

            create_topics(self.kafka_bootstrap(), from_environment=self.honours_environment)
            return started_postgres or started_kafka

    def down(self) -> None:
        with self.lock():
            self.stop_kafka()
            self.stop_postgres()


# The pair `make up` and `make test` use, in .local/ on the MTH_* ports.
LOCAL_INFRA = Infra(
    home=LOCAL,
    pg_port=PG_PORT,
    kafka_port=KAFKA_PORT,
    controller_port=KAFKA_CONTROLLER_PORT,
    honours_environment=True,
    sasl_port=int(os.environ.get("MTH_KAFKA_SASL_PORT", str(KAFKA_PORT + 20001))),
)


def infra_lock() -> contextlib.AbstractContextManager[None]:
    return LOCAL_INFRA.lock()


def uses_external_databases() -> bool:
    return LOCAL_INFRA.uses_external_databases()


def database_url(database: str) -> str:
    return LOCAL_INFRA.database_url(database)


def postgres_running() -> bool:
    return LOCAL_INFRA.postgres_running()


def start_postgres() -> bool:
    return LOCAL_INFRA.start_postgres()


def create_database(database: str) -> None:
    LOCAL_INFRA.create_database(database)


def stop_postgres() -> None:
    LOCAL_INFRA.stop_postgres()


def local_kafka_bootstrap() -> str:
    return LOCAL_INFRA.local_kafka_bootstrap()


def kafka_bootstrap() -> str:
    return LOCAL_INFRA.kafka_bootstrap()


def uses_external_kafka() -> bool:
    return LOCAL_INFRA.uses_external_kafka()


def kafka_running() -> bool:
    return LOCAL_INFRA.kafka_running()


def start_kafka() -> bool:
    return LOCAL_INFRA.start_kafka()


def stop_kafka() -> None:
    LOCAL_INFRA.stop_kafka()


def infra_env() -> dict[str, str]:
    return LOCAL_INFRA.env()


def up() -> bool:
    return LOCAL_INFRA.up()


def down() -> None:
    LOCAL_INFRA.down()


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["up"]:
            up()
        elif argv[:1] == ["down"]:
            down()
        else:
            print("usage: python -m services.infra up|down", file=sys.stderr)
            return 2
    except InfraError as error:
        print(f"[infra] error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
