"""What the benchmarks of `make bench` share: cores, the server's CPU, servers, percentiles.

The load generator and the server under test run on different cores (`taskset`), so a result
measures the server, not the client: wrk (closed loop, fixed concurrency) and hey (a fixed rate,
for latency) are compiled Debian tools that `make bench` installs when missing. Every figure is
reported next to a bare ceiling measured the same way in the same run. The load generators
themselves are driven from `bench/load.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A benchmark could not run; the message says what to do next."""


@dataclass(frozen=True)
class Cores:
    load: int
    server: int

    @property
    def shared(self) -> bool:
        return self.load == self.server


def cores() -> Cores:
    """The load generator's core and the server's: the first two this process may use."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        # One core cannot separate them; the figures then say so (`shared`).
        return Cores(allowed[0], allowed[0])
    return Cores(allowed[0], allowed[1])


def pin(pid: int, core: int) -> None:
    """Moves a running process, every thread of it, to one core."""
    done = subprocess.run(
        ["taskset", "-a", "-p", "-c", str(core), str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"taskset could not pin pid {pid} to core {core}: {done.stderr.strip()}")


def on_core(core: int, argv: Sequence[str]) -> list[str]:
    return ["taskset", "-c", str(core), *argv]


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BenchError(f"{name} is not installed: run `make bench` (it installs wrk and hey)")
    return found


def machine_load() -> str:
    """`uptime`'s load averages: other work on the machine skews every figure."""
    with contextlib.suppress(OSError):
        one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
        return f"load average {one} {five} {fifteen} on {os.cpu_count()} cores"
    return "load average unknown"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, man proc).
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for pid {pid}")


class CpuMeter:
    """Share of one core a process used between start() and stop()."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._cpu = 0.0
        self._wall = 0.0
        self.percent = 0.0

    def __enter__(self) -> CpuMeter:
        self._cpu = cpu_seconds(self.pid)
        self._wall = time.monotonic()
        return self

    def __exit__(self, *_: object) -> None:
        wall = time.monotonic() - self._wall
        self.percent = 100 * (cpu_seconds(self.pid) - self._cpu) / wall if wall > 0 else 0.0


def free_port_base() -> int:
    return int(os.environ.get("MTH_FREE_PORT_BASE", "19200"))


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def check_ports(ports: Sequence[int]) -> None:
    taken = [port for port in ports if not port_is_free(port)]
    if taken:
        raise BenchError(
            f"ports {taken} are in use: pass another --base-port (MTH_FREE_PORT_BASE is yours)"
        )


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{url} exited at start; see {log}:\n{tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"{url} not ready within {timeout:.0f} s; see {log}")


def tail(path: Path, chars: int = 2000) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-chars:]
    return ""


@contextlib.contextmanager
def server(
    argv: Sequence[str], env: dict[str, str], port: int, log: Path, timeout: float = 120
) -> Iterator[subprocess.Popen[bytes]]:
    """A Python server in its own process, ready on `port`; stopped on leaving."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, *argv],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, timeout, log)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least pct % of values at or below."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def bench_line(name: str, **fields: float | int | str) -> str:
    parts = []
    for key, value in fields.items():
        if isinstance(value, float):
            parts.append(f"{key}={value:.2f}" if value < 100 else f"{key}={value:.0f}")
        else:
            parts.append(f"{key}={value}")
    return f"BENCH {name} " + " ".join(parts)


# ---------------------------------------------------------------- profiles


@contextlib.contextmanager
def profiled(pid: int, out: Path | None, seconds: float, core: int) -> Iterator[None]:
    """py-spy samples `pid` for `seconds` while the block runs; collapsed stacks go to `out`."""
    if out is None:
        yield
        return
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise BenchError("py-spy is not installed: run `make venv` (it is a dev dependency)")
    out.parent.mkdir(parents=True, exist_ok=True)
    record = [py_spy, "record", "-p", str(pid), "-d", str(max(1, round(seconds)))]
    process = subprocess.Popen(
        on_core(core, [*record, "-r", "100", "-f", "raw", "-o", str(out)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield
    finally:
        try:
            _, err = process.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        if process.returncode != 0:
            raise BenchError(f"py-spy failed: {err.decode(errors='replace')[-1000:]}")
        print(f"profile: {out} (summary: python -m bench.flames {out})")


# ---------------------------------------------------------------- command lines


def bench_parser(name: str, about: str | None) -> argparse.ArgumentParser:
    """`python -m bench.<name>`'s options, with its module's docstring as the help text."""
    return argparse.ArgumentParser(
        prog=f"python -m bench.{name}",
        description=about,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def report(name: str, measure: Callable[[], str | list[str]]) -> None:
    """Runs the benchmark and prints its BENCH lines; one that cannot run says why, exit 1."""
    try:
        result = measure()
    except BenchError as error:
        print(f"bench {name}: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    for line in [result] if isinstance(result, str) else result:
        print(line, flush=True)
