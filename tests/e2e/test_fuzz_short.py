"""A short `make fuzz` (about 200 calls a service, no coverage phase): its own suite, every
kind of caller, no 5xx, schema, status and content-type conformance, no store in customer
responses."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from services.suite import ROOT

LINE = re.compile(r"^FUZZ service=(\w+) calls=(\d+) failures=(\d+) leaks=(\d+)$", re.MULTILINE)


def test_a_short_fuzz_run_finds_no_failure_and_no_leak() -> None:
    # Inside this checkout's e2e port block, clear of the e2e suite's own four ports.
    base_port = int(os.environ.get("MTH_E2E_BASE_PORT", "18000")) + 50
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.fuzz",
            "--base-port",
            str(base_port),
            "--calls",
            "200",
            "--phases",
            "examples,fuzzing,stateful",
            "--out",
            str(ROOT / ".local" / "fuzz-short"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # Generous: a loaded two-core machine has taken over ten minutes (speed is not under test).
        timeout=1800,
        check=False,
    )

    print(done.stdout)
    lines = {m[0]: tuple(int(n) for n in m[1:]) for m in LINE.findall(done.stdout)}
    assert set(lines) == {"catalog", "order", "dispatch", "driver"}, done.stderr[-3000:]
    for service, (calls, failures, leaks) in lines.items():
        assert calls >= 200, (service, calls)
        assert (failures, leaks) == (0, 0), (service, done.stderr[-3000:])
    assert done.returncode == 0
