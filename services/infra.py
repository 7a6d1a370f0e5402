"""Starts and stops the project's own PostgreSQL 15 cluster and Apache Kafka broker.

Both live in the git-ignored `.local/` folder. Each is skipped when the user points at an existing
server (`KAFKA_BOOTSTRAP_SERVERS`, or every `<SERVICE>_DATABASE_URL`). Every step is idempotent and
guarded by a file lock, so `make up` twice, or `make test` while `make up` runs, breaks nothing.
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
from pathlib import Path

from services import prereqs
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


@contextlib.contextmanager
def infra_lock() -> Iterator[None]:
    LOCAL.mkdir(parents=True, exist_ok=True)
    with open(LOCAL / "infra.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


# ---------------------------------------------------------------- PostgreSQL


def uses_external_databases() -> bool:
    return all(os.environ.get(f"{svc}_DATABASE_URL") for svc in SERVICE_DATABASES)


def database_url(database: str) -> str:
    return LOCAL_RUNTIME.database_url(database)


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


def postgres_running() -> bool:
    pg_ctl = _pg_bin() / "pg_ctl"
    data = PG_HOME / "data"
    if not (data / "PG_VERSION").exists():
        return False
    return _run(_as_postgres_user([str(pg_ctl), "-D", str(data), "status"])).returncode == 0


def start_postgres() -> bool:
    """Returns whether this call started the server (so its caller may stop it again)."""
    if uses_external_databases():
        say("PostgreSQL: using the servers named by *_DATABASE_URL")
        return False
    pg = _pg_bin()
    data = PG_HOME / "data"
    PG_HOME.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(PG_HOME, owner.pw_uid, owner.pw_gid)
        # The postgres user must be able to reach its data folder through the repo's parents.
        for parent in [LOCAL, *LOCAL.parents]:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
    if not (data / "PG_VERSION").exists():
        say(f"PostgreSQL: initialising a cluster in {data}")
        result = _run(
            _as_postgres_user(
                [
                    str(pg / "initdb"),
                    "-D",
                    str(data),
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
    if postgres_running():
        say(f"PostgreSQL: already running on 127.0.0.1:{PG_PORT}")
    else:
        started = True
        if port_open(PG_PORT):
            raise InfraError(
                f"port {PG_PORT} is taken by another program: stop it or set MTH_PG_PORT"
            )
        say(f"PostgreSQL: starting on 127.0.0.1:{PG_PORT}")
        options = (
            f"-p {PG_PORT} -k {PG_HOME} -c listen_addresses=127.0.0.1 -c max_connections=400"
            " -c shared_buffers=256MB"
        )
        result = _run(
            _as_postgres_user(
                [
                    str(pg / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(PG_HOME / "postgres.log"),
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
                f" see {PG_HOME / 'postgres.log'}"
            )
    for database in SERVICE_DATABASES.values():
        create_database(database)
    return started


def _psql(sql: str, database: str = "postgres") -> subprocess.CompletedProcess[str]:
    psql = _pg_bin() / "psql"
    return _run(
        [
            str(psql),
            "-h",
            "127.0.0.1",
            "-p",
            str(PG_PORT),
            "-U",
            "postgres",
            "-d",
            database,
            "-tAc",
            sql,
        ]
    )


def create_database(database: str) -> None:
    exists = _psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'")
    if exists.stdout.strip() == "1":
        return
    result = _psql(f'CREATE DATABASE "{database}"')
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise InfraError(f"could not create database {database}: {result.stderr.strip()}")


def stop_postgres() -> None:
    if not postgres_running():
        return
    say("PostgreSQL: stopping")
    _run(
        _as_postgres_user(
            [str(_pg_bin() / "pg_ctl"), "-D", str(PG_HOME / "data"), "-m", "fast", "-w", "stop"]
        )
    )


# ---------------------------------------------------------------- Kafka


def local_kafka_bootstrap() -> str:
    return LOCAL_RUNTIME.kafka_bootstrap


def kafka_bootstrap() -> str:
    """The broker in use: the one named by KAFKA_BOOTSTRAP_SERVERS, else the project's own."""
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or local_kafka_bootstrap()


def uses_external_kafka() -> bool:
    # Naming the project's own broker's address is not pointing elsewhere: we still run it.
    return kafka_bootstrap() != local_kafka_bootstrap()


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


def _kafka_java(main_class: str, *args: str) -> list[str]:
    return [
        _java(),
        f"-Xmx{KAFKA_HEAP}",
        f"-Xms{KAFKA_HEAP}",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={KAFKA_HOME / 'logs'}",
        "-cp",
        f"{KAFKA_JARS}/*",
        main_class,
        *args,
    ]


def _kafka_properties() -> Path:
    props = KAFKA_HOME / "server.properties"
    base = (KAFKA_DIR / "server.properties").read_text()
    base = base.replace("9092", str(KAFKA_PORT)).replace("19093", str(KAFKA_CONTROLLER_PORT))
    props.write_text(base + f"\nlog.dirs={KAFKA_HOME / 'data'}\n")
    return props


def _pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def kafka_running() -> bool:
    return port_open(KAFKA_PORT)


def start_kafka() -> bool:
    """Returns whether this call started the broker."""
    if uses_external_kafka():
        say(f"Kafka: using {kafka_bootstrap()}")
        return False
    if kafka_running():
        say(f"Kafka: already running on 127.0.0.1:{KAFKA_PORT}")
        return False
    ensure_kafka_jars()
    (KAFKA_HOME / "logs").mkdir(parents=True, exist_ok=True)
    props = _kafka_properties()
    if not (KAFKA_HOME / "data" / "meta.properties").exists():
        say("Kafka: formatting the KRaft log directory")
        result = _run(
            _kafka_java(
                "kafka.tools.StorageTool", "format", "-t", KAFKA_CLUSTER_ID, "-c", str(props)
            )
        )
        if result.returncode != 0:
            raise InfraError(f"formatting Kafka storage failed: {result.stdout}{result.stderr}")
    say(f"Kafka: starting on 127.0.0.1:{KAFKA_PORT} (heap {KAFKA_HEAP})")
    with open(KAFKA_HOME / "kafka.out", "ab") as out:
        process = subprocess.Popen(
            _kafka_java("kafka.Kafka", str(props)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (KAFKA_HOME / "kafka.pid").write_text(str(process.pid))

    def ready() -> bool:
        if process.poll() is not None:
            raise InfraError(f"Kafka exited at start; see {KAFKA_HOME / 'kafka.out'} and logs/")
        return port_open(KAFKA_PORT)

    wait_until(ready, 90, "Kafka")
    say("Kafka: up")
    return True


def stop_kafka() -> None:
    pid = _pid_alive(KAFKA_HOME / "kafka.pid")
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
    (KAFKA_HOME / "kafka.pid").unlink(missing_ok=True)


# ---------------------------------------------------------------- entry points


def infra_env() -> dict[str, str]:
    """Environment that points the services at the infrastructure in use."""
    env: dict[str, str] = {}
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap()
    for svc, database in SERVICE_DATABASES.items():
        env[f"{svc}_DATABASE_URL"] = os.environ.get(f"{svc}_DATABASE_URL", database_url(database))
    return env


def up() -> bool:
    """Starts what is not running; True when it started anything."""
    with infra_lock():
        started_postgres = start_postgres()
        started_kafka = start_kafka()
        from services.topics import create_topics

        create_topics(infra_env()["KAFKA_BOOTSTRAP_SERVERS"])
        return started_postgres or started_kafka


def down() -> None:
    with infra_lock():
        stop_kafka()
        stop_postgres()


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
