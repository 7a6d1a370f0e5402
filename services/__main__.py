"""`python -m services up|down|status|dlq`: the whole suite on this machine.

`up` starts PostgreSQL and Kafka (unless pointed at existing ones), seeds demo data once, starts
the four services as separate processes, waits for each `/readyz`, prints where each listens, and
stays in the foreground: Ctrl-C (or `make down` from another terminal) stops everything.
`dlq` lists, shows and replays dead letters (`python -m services dlq --help`).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from services import infra
from services.processes import InfraError, port_open
from shared.settings import DEVELOPMENT_MODE_VARIABLE

RUN_DIR = infra.LOCAL / "run"


@dataclass(frozen=True)
class Service:
    name: str
    package: str
    port: int
    env_prefix: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return RUN_DIR / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return RUN_DIR / f"{self.name}.log"


def _port(env_prefix: str, default: int) -> int:
    # `<SERVICE>_PORT` moves a service, as it does when the service runs on its own.
    return int(os.environ.get(f"{env_prefix}_PORT", str(default)))


SERVICES = (
    Service("catalog", "catalog_service", _port("CATALOG", 8001), "CATALOG"),
    Service("order", "order_service", _port("ORDER", 8002), "ORDER"),
    Service("dispatch", "dispatch_service", _port("DISPATCH", 8003), "DISPATCH"),
    Service("driver", "driver_service", _port("DRIVER", 8004), "DRIVER"),
)


def say(message: str) -> None:
    print(f"[up] {message}", flush=True)


def ready(service: Service) -> bool:
    try:
        with urllib.request.urlopen(f"{service.url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def running_pid(service: Service) -> int | None:
    try:
        pid = int(service.pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    # An exited child of ours lingers as a zombie until reaped: it is not running.
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z":
        return None
    return pid


def service_env(service: Service) -> dict[str, str]:
    env = {**os.environ, **infra.infra_env()}
    # `make up` runs on a developer's machine: the repository's development secrets will do.
    env.setdefault(DEVELOPMENT_MODE_VARIABLE, "1")
    env.setdefault(f"{service.env_prefix}_PORT", str(service.port))
    env.setdefault("ORDER_CATALOG_URL", SERVICES[0].url)
    # Tracking links and proof-photo links point at where the order and driver services listen.
    env.setdefault("ORDER_PUBLIC_URL", SERVICES[1].url)
    env.setdefault("ORDER_DRIVER_PUBLIC_URL", SERVICES[3].url)
    # The console's actions go through the order and driver services, wherever they listen.
    env.setdefault("DISPATCH_ORDER_URL", SERVICES[1].url)
    env.setdefault("DISPATCH_DRIVER_URL", SERVICES[3].url)
    if "ORDER_OPERATOR_TOKEN" in env:
        env.setdefault("DISPATCH_ORDER_OPERATOR_TOKEN", env["ORDER_OPERATOR_TOKEN"])
    if "DRIVER_OPERATOR_TOKEN" in env:
        env.setdefault("DISPATCH_DRIVER_OPERATOR_TOKEN", env["DRIVER_OPERATOR_TOKEN"])
    return env


def seed_catalog() -> None:
    if importlib.util.find_spec("catalog_service.dev") is None:
        return
    say("catalog: seeding demo stores and products (first run only)")
    catalog = SERVICES[0]
    result = subprocess.run(
        [sys.executable, "-m", "catalog_service.dev", "seed", "--if-empty"],
        env=service_env(catalog),
        check=False,
    )
    if result.returncode != 0:
        raise InfraError("seeding the catalog failed: see the output above")


def start_services() -> dict[str, subprocess.Popen[bytes]]:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    started: dict[str, subprocess.Popen[bytes]] = {}
    for service in SERVICES:
        if running_pid(service) is not None:
            say(f"{service.name}: already running (pid {running_pid(service)})")
            continue
        if port_open(service.port):
            raise InfraError(
                f"port {service.port} for {service.name} is taken by another program: stop it"
            )
        with open(service.log_file, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", service.package],
                env=service_env(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        service.pid_file.write_text(str(process.pid))
        started[service.name] = process
    return started


def wait_ready(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    pending = list(SERVICES)
    while pending and time.monotonic() < deadline:
        for service in list(pending):
            if ready(service):
                say(f"{service.name:<9} ready at {service.url}  (docs {service.url}/docs)")
                pending.remove(service)
            elif running_pid(service) is None:
                raise InfraError(
                    f"{service.name} exited at start; its log: {service.log_file}"
                )
        time.sleep(0.3)
    if pending:
        names = ", ".join(s.name for s in pending)
        raise InfraError(f"not ready after {timeout:.0f} s: {names}; see {RUN_DIR}/*.log")


def stop_services() -> None:
    for service in SERVICES:
        pid = running_pid(service)
        if pid is None:
            service.pid_file.unlink(missing_ok=True)
            continue
        say(f"{service.name}: stopping")
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for service in SERVICES:
        while running_pid(service) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        pid = running_pid(service)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        service.pid_file.unlink(missing_ok=True)


def up() -> int:
    if all(running_pid(s) is not None for s in SERVICES) and all(ready(s) for s in SERVICES):
        say("the suite is already running; `make down` stops it")
        return 0
    started_infra = infra.up()
    seed_catalog()
    started = start_services()
    wait_ready()
    say(
        f"operator console at {SERVICES[2].url}/console (sign in with the token of "
        "`.venv/bin/python -m dispatch_service.dev token --subject NAME`)"
    )
    say(f"all four services ready; logs in {RUN_DIR}/. Ctrl-C or `make down` stops everything.")
    if not started:
        return 0

    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stopping:
        exited = [name for name, process in started.items() if process.poll() is not None]
        if exited:
            say(f"{', '.join(exited)} exited (see {RUN_DIR}/*.log); stopping the suite")
            break
        time.sleep(0.5)
    stop_services()
    for process in started.values():
        process.wait(timeout=5)
    # Kafka and PostgreSQL that were already running (say, for `make test`) keep running.
    if started_infra:
        infra.down()
    return 0


def down() -> int:
    stop_services()
    infra.down()
    return 0


def status() -> int:
    for service in SERVICES:
        state = "ready" if ready(service) else "running" if running_pid(service) else "stopped"
        print(f"{service.name:<9} {service.url:<24} {state}")
    kafka = "up" if infra.kafka_running() else "down"
    postgres = "up" if infra.postgres_running() else "down"
    print(f"{'kafka':<9} 127.0.0.1:{infra.KAFKA_PORT:<14} {kafka}")
    print(f"{'postgres':<9} 127.0.0.1:{infra.PG_PORT:<14} {postgres}")
    return 0


def main(argv: list[str]) -> int:
    commands = {"up": up, "down": down, "status": status}
    if argv[:1] == ["dlq"]:
        from services import dlq

        return dlq.main(argv[1:])
    if not argv or argv[0] not in commands:
        print("usage: python -m services up|down|status|dlq", file=sys.stderr)
        return 2
    try:
        return commands[argv[0]]()
    except InfraError as error:
        print(f"[up] error: {error}", file=sys.stderr)
        if argv[0] == "up":
            stop_services()
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
