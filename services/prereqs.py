"""What this machine needs before `make up`, `make test`, `make demo` or `make bench` start.

`python3 services/prereqs.py <target>` names everything missing at once, each with how to install
it on Debian/Ubuntu and on macOS, and exits 1; it prints nothing when all is there. The Makefile
runs it before it builds `.venv`, under whichever `python3` it found, so this file uses only the
standard library and stays importable by older interpreters: its first job is to say that the one
running it is not Python 3.11.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KAFKA_JARS = ROOT / "deploy" / "kafka" / ".jars"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON_VERSION = (3, 11)
MIN_JAVA = 17
MIN_POSTGRES = 15
SERVICE_PREFIXES = ("CATALOG", "ORDER", "DISPATCH", "DRIVER")
# Targets whose tests also run the README's quickstart, which speaks curl and jq.
QUICKSTART_TARGETS = frozenset({"test"})
# The targets that install the operator console's assets with npm first (Makefile: console-assets).
CONSOLE_TARGETS = frozenset({"up", "test", "bench", "demo"})
NODE_MODULES = ROOT / "node_modules"


@dataclass(frozen=True)
class Missing:
    """One thing this machine lacks: what, why the project needs it, and how to get it."""

    what: str
    found: str
    debian: str
    macos: str


def _sudo(command: str) -> str:
    return command if os.geteuid() == 0 else f"sudo {command}"


# ---------------------------------------------------------------- Python


def python_version(env: dict[str, str]) -> tuple[tuple[int, int], str]:
    """The version of the interpreter that runs the project: .venv's if it exists, else ours."""
    if VENV_PYTHON.exists():
        done = subprocess.run(
            [str(VENV_PYTHON), "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        major, _, minor = done.stdout.strip().partition(" ")
        if done.returncode == 0 and major.isdigit() and minor.isdigit():
            return (int(major), int(minor)), f"{VENV_PYTHON.relative_to(ROOT)}"
    return (sys.version_info[0], sys.version_info[1]), sys.executable


def check_python(env: dict[str, str]) -> list[Missing]:
    version, where = python_version(env)
    wanted = f"{PYTHON_VERSION[0]}.{PYTHON_VERSION[1]}"
    if version != PYTHON_VERSION:
        found = f"{where} is Python {version[0]}.{version[1]}"
        if where.startswith(".venv"):
            found += "; remove .venv (rm -rf .venv) so it is built again with Python " + wanted
        return [
            Missing(
                what=f"Python {wanted} exactly (the services and their pinned libraries)",
                found=found + "; `make PYTHON=/path/to/python3.11 ...` picks another",
                debian=_sudo(f"apt-get install python{wanted} python{wanted}-venv"),
                macos=f"brew install python@{wanted}",
            )
        ]
    if not VENV_PYTHON.exists() and not _has_module("ensurepip"):
        return [
            Missing(
                what=f"Python {wanted}'s venv module (builds .venv)",
                found=f"{sys.executable} has no ensurepip",
                debian=_sudo(f"apt-get install python{wanted}-venv"),
                macos=f"brew reinstall python@{wanted}",
            )
        ]
    return []


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# ---------------------------------------------------------------- Java and Maven (local Kafka)


def uses_local_kafka(env: dict[str, str]) -> bool:
    # The same rule as services/infra.py: naming the project's own broker still runs it.
    local = f"127.0.0.1:{env.get('MTH_KAFKA_PORT', '9092')}"
    return env.get("KAFKA_BOOTSTRAP_SERVERS", local) in ("", local)


def find_java(env: dict[str, str]) -> str | None:
    java_home = env.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java", path=env.get("PATH", ""))


def java_major(java: str, env: dict[str, str]) -> int | None:
    try:
        done = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # `openjdk version "17.0.15"`, `openjdk version "21"`, or Java 8's `java version "1.8.0_381"`.
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


JAVA_DEBIAN = _sudo("apt-get install openjdk-17-jre-headless") + "  (or openjdk-21-jre-headless)"
JAVA_MACOS = "brew install openjdk@17, then put $(brew --prefix openjdk@17)/bin on PATH"


def check_java(env: dict[str, str]) -> list[Missing]:
    java = find_java(env)
    what = f"Java {MIN_JAVA} or newer (runs the local Kafka broker)"
    if java is None:
        found = "`java` is not on PATH and JAVA_HOME names no JDK"
        return [Missing(what, found, JAVA_DEBIAN, JAVA_MACOS)]
    major = java_major(java, env)
    if major is None:
        found = f"`{java} -version` does not say which version it is"
        return [Missing(what, found, JAVA_DEBIAN, JAVA_MACOS)]
    if major < MIN_JAVA:
        found = f"{java} is Java {major}; set JAVA_HOME to a newer JDK"
        return [Missing(what, found, JAVA_DEBIAN, JAVA_MACOS)]
    return []


def check_maven(env: dict[str, str]) -> list[Missing]:
    if list(KAFKA_JARS.glob("kafka_2.13-*.jar")):
        return []
    if shutil.which("mvn", path=env.get("PATH", "")) is not None:
        return []
    return [
        Missing(
            what="Maven (fetches Kafka's jars from Maven Central on the first run)",
            found="`mvn` is not on PATH",
            debian=_sudo("apt-get install maven"),
            macos="brew install maven",
        )
    ]


# ---------------------------------------------------------------- PostgreSQL


def uses_local_postgres(env: dict[str, str]) -> bool:
    return not all(env.get(f"{prefix}_DATABASE_URL") for prefix in SERVICE_PREFIXES)


def find_pg_bin(env: dict[str, str]) -> Path | None:
    """The folder of initdb and pg_ctl: Debian's versioned one, Homebrew's, or PATH's."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    candidates += [
        "/opt/homebrew/opt/postgresql@15/bin",
        "/usr/local/opt/postgresql@15/bin",
    ]
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    on_path = shutil.which("initdb", path=env.get("PATH", ""))
    return None if on_path is None else Path(on_path).parent


PG_DEBIAN = (
    _sudo("apt-get install postgresql-15")
    + "  (or newer; from PostgreSQL's own apt repository where your release lacks it)"
)
PG_MACOS = "brew install postgresql@15"


def check_postgres(env: dict[str, str]) -> list[Missing]:
    what = f"PostgreSQL {MIN_POSTGRES} or newer server binaries (initdb, pg_ctl, psql)"
    pg_bin = find_pg_bin(env)
    if pg_bin is None:
        found = "no initdb in /usr/lib/postgresql/*/bin, Homebrew's postgresql@15 or on PATH"
        return [Missing(what, found, PG_DEBIAN, PG_MACOS)]
    missing = [name for name in ("pg_ctl", "psql") if not (pg_bin / name).exists()]
    if missing:
        return [Missing(what, f"{pg_bin} lacks {', '.join(missing)}", PG_DEBIAN, PG_MACOS)]
    done = subprocess.run(
        [str(pg_bin / "initdb"), "--version"], capture_output=True, text=True, check=False
    )
    match = re.search(r"(\d+)", done.stdout)
    if match is not None and int(match.group(1)) < MIN_POSTGRES:
        found = f"{pg_bin / 'initdb'} is PostgreSQL {match.group(1)}"
        return [Missing(what, found, PG_DEBIAN, PG_MACOS)]
    return []


def check_postgres_user(env: dict[str, str]) -> list[Missing]:
    # PostgreSQL refuses to run as root: as root, infra.py runs it as the `postgres` user.
    if os.geteuid() != 0:
        return []
    problems = []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        problems.append(
            Missing(
                what="a `postgres` OS user (PostgreSQL refuses to run as root)",
                found="running as root and there is no user named postgres",
                debian="apt-get install postgresql-15 creates it; or "
                "useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres",
                macos="run make as your own user, not as root",
            )
        )
    if shutil.which("runuser", path=env.get("PATH", "")) is None:
        problems.append(
            Missing(
                what="runuser (starts PostgreSQL as the postgres user when run as root)",
                found="`runuser` is not on PATH",
                debian="apt-get install util-linux",
                macos="run make as your own user, not as root",
            )
        )
    return problems


# ---------------------------------------------------------------- the quickstart's tools


def check_quickstart_tools(env: dict[str, str]) -> list[Missing]:
    return [
        Missing(
            what=f"{tool} (the README's quickstart, which the tests run, uses it)",
            found=f"`{tool}` is not on PATH",
            debian=_sudo(f"apt-get install {tool}"),
            macos=f"brew install {tool}",
        )
        for tool in ("curl", "jq", "openssl")
        if shutil.which(tool, path=env.get("PATH", "")) is None
    ]


# ---------------------------------------------------------------- the console's assets


def check_npm(env: dict[str, str]) -> list[Missing]:
    # The operator console's map library comes from npm (package-lock.json) into node_modules/;
    # once there, npm is needed again only when the lock changes.
    if (NODE_MODULES / "leaflet").is_dir():
        return []
    if shutil.which("npm", path=env.get("PATH", "")) is not None:
        return []
    return [
        Missing(
            what="Node.js and npm (install the operator console's map library, first run only)",
            found="`npm` is not on PATH",
            debian=_sudo("apt-get install nodejs npm"),
            macos="brew install node",
        )
    ]


# ---------------------------------------------------------------- all at once


def missing_for(target: str, env: dict[str, str]) -> list[Missing]:
    problems = check_python(env)
    if target == "venv":  # building .venv, for lint or unit tests: Python alone
        return problems
    if uses_local_kafka(env):
        problems += check_java(env) + check_maven(env)
    if uses_local_postgres(env):
        problems += check_postgres(env) + check_postgres_user(env)
    if target in QUICKSTART_TARGETS:
        problems += check_quickstart_tools(env)
    if target in CONSOLE_TARGETS:
        problems += check_npm(env)
    return problems


def report(target: str, problems: list[Missing]) -> str:
    lines = [f"[prereqs] `make {target}` cannot start: this machine lacks"]
    for problem in problems:
        lines += [
            f"  - {problem.what}",
            f"      found:         {problem.found}",
            f"      Debian/Ubuntu: {problem.debian}",
            f"      macOS:         {problem.macos}",
        ]
    lines.append(
        f"Install them, then run `make {target}` again. Kafka or PostgreSQL elsewhere? "
        "KAFKA_BOOTSTRAP_SERVERS and the four <SERVICE>_DATABASE_URL skip Java, Maven and "
        "PostgreSQL (README: Using existing Kafka and PostgreSQL)."
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    target = argv[0] if argv else "up"
    problems = missing_for(target, dict(os.environ))
    if problems:
        print(report(target, problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
