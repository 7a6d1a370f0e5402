"""The load generators: wrk (closed loop, fixed concurrency) and hey (a fixed rate, for latency),
each pinned to its own core, and their output parsed into results."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import BenchError, on_core, percentile, require_tool

WRK_MARK = "WRKJSON "


# ---------------------------------------------------------------- wrk


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    counters: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


# Appended to every wrk script: one JSON line with exact figures instead of wrk's rounded text.
# Threads count into their own Lua states; `done` adds up what each one kept in `counters`.
WRK_DONE = """
local __threads = {}
function setup(thread)
  table.insert(__threads, thread)
  if bench_setup then bench_setup(thread) end
end
function done(summary, latency, requests)
  local counters = {}
  for _, thread in ipairs(__threads) do
    local kept = thread:get("counters")
    if kept then
      for name, n in pairs(kept) do counters[name] = (counters[name] or 0) + n end
    end
  end
  local parts = {}
  for name, n in pairs(counters) do
    table.insert(parts, string.format('"%s": %d', name, n))
  end
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "status": %d, '
    .. '"socket": %d, "counters": {%s}}\\n',
    "WRKJSON ", summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout,
    table.concat(parts, ", ")))
end
"""


def parse_wrk(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(WRK_MARK):
            data = json.loads(line[len(WRK_MARK) :])
            return WrkResult(
                requests=int(data["requests"]),
                seconds=int(data["duration_us"]) / 1e6,
                p50_ms=int(data["p50_us"]) / 1000,
                p99_ms=int(data["p99_us"]) / 1000,
                non_2xx=int(data["status"]),
                socket_errors=int(data["socket"]),
                counters={k: int(v) for k, v in data["counters"].items()},
            )
    raise BenchError(f"wrk printed no result line:\n{output[-2000:]}")


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for ASCII


def lua_list(values: Sequence[str]) -> str:
    return "{" + ", ".join(lua_string(v) for v in values) + "}"


def get_paths_script(paths: Sequence[str]) -> str:
    """wrk script: GET each path in turn, one rotation per thread."""
    return (
        f"local paths = {lua_list(paths)}\n"
        "local i = 0\n"
        "function request()\n"
        "  i = i % #paths + 1\n"
        "  return wrk.format('GET', paths[i])\n"
        "end\n"
    )


def run_wrk(
    url: str,
    script: str,
    *,
    connections: int,
    seconds: float,
    core: int,
    threads: int = 1,
    timeout_s: int = 10,
) -> WrkResult:
    wrk = require_tool("wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + WRK_DONE)
    try:
        done = subprocess.run(
            on_core(
                core,
                [
                    wrk,
                    f"-t{threads}",
                    f"-c{connections}",
                    f"-d{max(1, round(seconds))}s",
                    f"--timeout={timeout_s}s",
                    "-s",
                    handle.name,
                    url,
                ],
            ),
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + 60,
        )
    finally:
        Path(handle.name).unlink()
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-1000:]}")
    return parse_wrk(done.stdout)


# ---------------------------------------------------------------- hey


@dataclass(frozen=True)
class HeyResult:
    latencies_ms: list[float]
    statuses: dict[int, int]
    seconds: float

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds > 0 else 0.0


_HEY_ROW = re.compile(r"^\d")


def parse_hey_csv(output: str, seconds: float) -> HeyResult:
    """hey's `-o csv`: response-time (s), ..., status-code, offset; one row per request."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for line in output.splitlines():
        if not _HEY_ROW.match(line):
            continue  # the header row, or a blank line
        fields = line.split(",")
        latencies.append(float(fields[0]) * 1000)
        status = int(fields[6])
        statuses[status] = statuses.get(status, 0) + 1
    if not latencies:
        raise BenchError(f"hey printed no requests:\n{output[-2000:]}")
    return HeyResult(latencies, statuses, seconds)


def run_hey(url: str, *, rate: float, workers: int, seconds: float, core: int) -> HeyResult:
    """A fixed total rate: `workers` senders, each ticking at rate / workers.

    hey's senders are rate-limited loops: a response slower than a sender's tick delays that
    sender, so enough senders that each has slack keep the offered rate fixed.
    """
    hey = require_tool("hey")
    per_worker = rate / workers
    done = subprocess.run(
        on_core(
            core,
            [
                hey,
                "-z",
                f"{max(1, round(seconds))}s",
                "-c",
                str(workers),
                "-q",
                f"{per_worker:.3f}",
                "-cpus",
                "1",
                "-o",
                "csv",
                url,
            ],
        ),
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
    )
    if done.returncode != 0:
        raise BenchError(f"hey failed ({done.returncode}): {done.stderr.strip()[-1000:]}")
    return parse_hey_csv(done.stdout, seconds)
