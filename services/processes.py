"""Small steps of starting local servers: saying what happens, waiting for a port, running a
command for its output, and pid files."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path


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


def run_captured(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, text=True, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


def pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid
