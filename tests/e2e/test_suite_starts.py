from __future__ import annotations

import httpx

from services.suite import Suite


async def test_the_four_services_run_as_separate_processes_and_are_ready(
    suite: Suite, http: httpx.AsyncClient
) -> None:
    pids = {name: process.pid for name, process in suite.processes.items()}
    assert len(set(pids.values())) == 4
    for name, url in suite.urls.items():
        ready = await http.get(f"{url}/readyz")
        assert ready.status_code == 200, (name, ready.text)
