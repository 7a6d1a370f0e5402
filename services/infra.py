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
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services import prereqs
from services.kafka_broker import KafkaBroker
from services.processes import InfraError, port_open, run_captured, say
from shared.local import DATABASES, LocalRuntime

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
KAFKA_HOME = LOCAL / "kafka"
PG_HOME = LOCAL / "pg"
LOCAL_RUNTIME = LocalRuntime()
PG_PORT = LOCAL_RUNTIME.pg_port
KAFKA_PORT = LOCAL_RUNTIME.kafka_port
# KRaft's controller listener; beside the broker's port so two checkouts can each run their own.
KAFKA_CONTROLLER_PORT = int(os.environ.get("MTH_KAFKA_CONTROLLER_PORT", str(KAFKA_PORT + 10001)))
KAFKA_HEAP = os.environ.get("MTH_KAFKA_HEAP", "512m")

SERVICE_DATABASES = DATABASES


def _pg_bin() -> Path:
    found = prereqs.find_pg_bin(dict(os.environ))
    if found is None:
        raise InfraError("PostgreSQL server binaries not found: `make up` says how to install them")
    return found


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; as any other user we run it as ourselves.
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@dataclass(frozen=True)
class Infra(KafkaBroker):
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
        return (
            run_captured(_as_postgres_user([pg_ctl, "-D", str(self.pg_data), "status"])).returncode
            == 0
        )

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
            result = run_captured(
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
        result = run_captured(
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
        run_captured(
            _as_postgres_user(
                [str(_pg_bin() / "pg_ctl"), "-D", str(self.pg_data), "-m", mode, "-w", "stop"]
            )
        )
        self._pg_ctl_start()

    def _psql(self, sql: str, database: str = "postgres") -> subprocess.CompletedProcess[str]:
        psql = _pg_bin() / "psql"
        return run_captured(
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
        run_captured(
            _as_postgres_user(
                [str(_pg_bin() / "pg_ctl"), "-D", str(self.pg_data), "-m", "fast", "-w", "stop"]
            )
        )

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
