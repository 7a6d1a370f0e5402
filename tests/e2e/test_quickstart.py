"""The README's "First order in five minutes", run as written against a copy of the suite.

The blocks run in one bash, in order, as a newcomer pastes them; only the three service URLs are
pointed at this suite's ports (and its dev commands at its databases, through its environment).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from services.suite import ROOT, Suite

README = ROOT / "README.md"
SECTION = "## First order in five minutes"
# What `make up` serves, as the README names it, and the suite's name for that service.
MAKE_UP_URLS = {
    "http://127.0.0.1:8001": "catalog",
    "http://127.0.0.1:8002": "order",
    "http://127.0.0.1:8004": "driver",
}
# Dispatch plans every 2 s here (every 30 s under `make up`); a generous bound for 2 CPUs.
QUICKSTART_SECONDS = 300


def quickstart_blocks(readme: Path = README) -> list[str]:
    text = readme.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end != -1 else len(text)]
    return re.findall(r"^```sh\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)


def for_suite(script: str, suite: Suite) -> str:
    for url, name in MAKE_UP_URLS.items():
        assert url in script, f"the quickstart no longer names {url}"
        script = script.replace(url, suite.urls[name])
    return script


def test_the_readme_has_the_quickstart_s_four_steps() -> None:
    blocks = quickstart_blocks()

    assert len(blocks) == 4
    script = "\n".join(blocks)
    for step in ("order_service.dev token", "/v1/checkout", "provision-store --order",
                 "accepted", "packaged", "/v1/drivers/me/offers", "/accept",
                 '"$PICKUP" arrive', '"$PICKUP" pickup', '"$DROPOFF" deliver',
                 '"delivered"'):  # fmt: skip
        assert step in script


def test_the_quickstart_places_an_order_and_delivers_it(suite: Suite) -> None:
    script = for_suite("\n".join(quickstart_blocks()), suite)

    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=ROOT,
        env=suite.env,
        capture_output=True,
        text=True,
        timeout=QUICKSTART_SECONDS,
        check=False,
    )

    # Shown with `pytest -s`, and in the failure report: what a newcomer would see.
    print(done.stdout)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    lines = done.stdout.strip().splitlines()
    final = json.loads(lines[-1])
    assert final["status"] == "delivered"
    assert final["timeline"][0] == "placed" and final["timeline"][-1] == "delivered"
    assert {"packaged", "picked_up"} <= set(final["timeline"])
    assert '{"is_online":false}' in lines
