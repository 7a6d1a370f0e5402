"""The up-front check of what `make up` and `make test` need: everything missing, in one message."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from services import prereqs
from services.prereqs import ROOT, missing_for, report


def a_program(folder: Path, name: str, script: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(0o755)
    return program


def path_without(tmp_path: Path, *hidden: str) -> str:
    """This machine's PATH, each program linked into one folder, less the hidden ones."""
    farm = tmp_path / "bin"
    farm.mkdir()
    folders = [*os.environ.get("PATH", "").split(os.pathsep), "/usr/sbin", "/sbin"]
    for folder in folders:
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            target = farm / entry.name
            if entry.name not in hidden and not target.exists():
                target.symlink_to(entry.path)
    return str(farm)


def a_free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def local_infra_env() -> dict[str, str]:
    """The environment with the project's own Kafka and PostgreSQL in use (not external ones)."""
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    for prefix in prereqs.SERVICE_PREFIXES:
        env.pop(f"{prefix}_DATABASE_URL", None)
    return env


def whats(problems: list[prereqs.Missing]) -> list[str]:
    return [p.what.split(" (")[0] for p in problems]


def test_without_java_on_path_make_up_prints_one_message_and_starts_nothing(
    tmp_path: Path, local_infra_env: dict[str, str]
) -> None:
    path = path_without(tmp_path, "java")
    assert shutil.which("java", path=path) is None
    env = {
        **local_infra_env,
        "PATH": path,
        # A broker port nothing listens on: the local Kafka would have to be started.
        "MTH_KAFKA_PORT": str(a_free_port()),
    }

    done = subprocess.run(
        ["make", "--no-print-directory", "up", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in output
    assert "Java 17 or newer" in done.stderr
    assert "Debian/Ubuntu: " in done.stderr and "openjdk-17-jre-headless" in done.stderr
    assert "macOS:         brew install openjdk@17" in done.stderr
    # Checked before anything starts: no PostgreSQL, no Kafka, no service.
    assert "[infra]" not in output and "[up]" not in output
    # One message: the report, then make's own line saying the target failed.
    assert [line for line in done.stderr.splitlines() if line.startswith("[")] == [
        "[prereqs] `make up` cannot start: this machine lacks"
    ]


def test_everything_missing_is_named_at_once_with_how_to_install_it(
    tmp_path: Path, local_infra_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not fetched yet, as on a fresh clone: Maven and npm are needed too.
    monkeypatch.setattr(prereqs, "KAFKA_JARS", tmp_path / "no-jars")
    monkeypatch.setattr(prereqs, "NODE_MODULES", tmp_path / "no-node-modules")
    empty = tmp_path / "empty"
    empty.mkdir()

    problems = missing_for("test", {**local_infra_env, "PATH": str(empty)})

    named = whats(problems)
    assert "Java 17 or newer" in named
    assert "Maven" in named
    assert "curl" in named and "jq" in named
    assert "Node.js and npm" in named
    message = report("test", problems)
    assert message.count("Debian/Ubuntu: ") == len(problems)
    assert message.count("macOS: ") == len(problems)
    assert "apt-get install maven" in message and "brew install maven" in message


def test_a_java_older_than_17_is_named_with_its_version(
    tmp_path: Path, local_infra_env: dict[str, str]
) -> None:
    bin_dir = tmp_path / "bin"
    a_program(bin_dir, "java", "echo 'openjdk version \"11.0.22\" 2024-01-16' >&2")

    problems = prereqs.check_java({**local_infra_env, "PATH": str(bin_dir)})

    assert whats(problems) == ["Java 17 or newer"]
    assert "is Java 11" in problems[0].found


@pytest.mark.parametrize(
    "banner", ['openjdk version "17.0.15" 2025-04-15', 'openjdk version "21" 2023-09-19']
)
def test_java_17_or_newer_is_enough(
    tmp_path: Path, local_infra_env: dict[str, str], banner: str
) -> None:
    bin_dir = tmp_path / "bin"
    a_program(bin_dir, "java", f"echo '{banner}' >&2")

    assert prereqs.check_java({**local_infra_env, "PATH": str(bin_dir)}) == []


def test_java_8_counts_as_8_not_1(tmp_path: Path, local_infra_env: dict[str, str]) -> None:
    bin_dir = tmp_path / "bin"
    java = a_program(bin_dir, "java", "echo 'java version \"1.8.0_381\"' >&2")

    assert prereqs.java_major(str(java), {**local_infra_env, "PATH": str(bin_dir)}) == 8


def test_java_home_wins_over_path(tmp_path: Path, local_infra_env: dict[str, str]) -> None:
    old = a_program(tmp_path / "bin", "java", "echo 'openjdk version \"11\"' >&2")
    new = a_program(tmp_path / "jdk" / "bin", "java", "echo 'openjdk version \"21\"' >&2")
    env = {**local_infra_env, "PATH": str(old.parent), "JAVA_HOME": str(new.parent.parent)}

    assert prereqs.find_java(env) == str(new)
    assert prereqs.check_java(env) == []


def test_an_external_broker_and_databases_need_no_java_maven_or_postgresql_only_npm(
    tmp_path: Path, local_infra_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prereqs, "KAFKA_JARS", tmp_path / "no-jars")
    monkeypatch.setattr(prereqs, "NODE_MODULES", tmp_path / "no-node-modules")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {
        **local_infra_env,
        "PATH": str(empty),
        "KAFKA_BOOTSTRAP_SERVERS": "kafka.example.internal:9092",
        **{f"{p}_DATABASE_URL": "postgresql+asyncpg://u@db/x" for p in prereqs.SERVICE_PREFIXES},
    }

    # The console's assets still come from npm, wherever Kafka and PostgreSQL run.
    assert whats(missing_for("up", env)) == ["Node.js and npm"]


def test_a_venv_built_with_another_python_is_named_with_how_to_rebuild_it(
    tmp_path: Path, local_infra_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    venv_python = a_program(tmp_path / ".venv" / "bin", "python", "echo 3 12")
    monkeypatch.setattr(prereqs, "VENV_PYTHON", venv_python)
    monkeypatch.setattr(prereqs, "ROOT", tmp_path)

    problems = prereqs.check_python(local_infra_env)

    assert whats(problems) == ["Python 3.11 exactly"]
    assert ".venv/bin/python is Python 3.12" in problems[0].found
    assert "rm -rf .venv" in problems[0].found


def test_this_machine_has_what_make_test_needs() -> None:
    # `make test` ran the same check before these tests: nothing may be missing now.
    assert missing_for("test", dict(os.environ)) == []
