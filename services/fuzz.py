"""`make fuzz`: schemathesis against the four services' OpenAPI documents, on a private suite.

Starts its own copy of the suite (ports from `--base-port`, databases and topics of its own),
gets valid credentials of every kind of caller (customer, store POS, retailer, driver,
operator, internal), places one real order so object routes have something to find, then runs
schemathesis (examples, coverage, fuzzing and stateful phases) per service with these checks:
no 5xx, response schema, status code and content type conformance, and a store-leak scan of
every customer-facing response. One line per service:

    FUZZ service=<name> calls=<n> failures=<n> leaks=<n>

Exits non-zero when any service has a failure or a leak, or made fewer calls than asked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.fuzz_callers import KEYS_FILE, Callers, gather_callers, place_an_order
from services.fuzz_hooks import CONTEXT_VARIABLE
from services.suite import ROOT, Suite
from services.topics import delete_topics

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "no_store_or_mall_named",
    )
)
# Operations a customer (or the storefront) calls: their responses are scanned for stores.
# What customers and the storefront see, where the leak scanner reads every answer.
CUSTOMER_TAGS = {
    "catalog": ["catalog"],
    "order": ["orders", "storefront", "tracking"],
    "dispatch": [],
    "driver": ["proofs"],
}
SERVICES = ("catalog", "order", "dispatch", "driver")
PHASES = ("examples", "coverage", "fuzzing", "stateful")
UNLIMITED = "1000000/minute"
# At most this many schemathesis runs per service to reach the calls asked for.
MAX_ROUNDS = 4


@dataclass
class Outcome:
    service: str
    calls: int = 0
    failures: int = 0
    leaks: int = 0
    details: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"FUZZ service={self.service} calls={self.calls} failures={self.failures} "
            f"leaks={self.leaks}"
        )


@dataclass(frozen=True)
class Options:
    base_port: int
    calls: int
    services: tuple[str, ...]
    workers: int
    seed: int
    out: Path
    phases: str


def parse_options(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m services.fuzz", description=__doc__)
    p.add_argument("--base-port", type=int, default=18200, help="the suite uses the next four")
    p.add_argument("--calls", type=int, default=2000, help="at least this many calls a service")
    p.add_argument("--service", action="append", choices=SERVICES, help="default: all four")
    # One worker: Python 3.11's ast module is not safe in threads, and Hypothesis parses source
    # with it while it draws (CPython gh-106905, "AST constructor recursion depth mismatch").
    p.add_argument("--workers", type=int, default=1, help="schemathesis workers per service")
    p.add_argument("--seed", type=int, default=14)
    p.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="schemathesis phases (the coverage phase alone sends several hundred calls)",
    )
    p.add_argument("--out", type=Path, default=Path("out/fuzz"))
    a = p.parse_args(argv)
    if a.calls < 1 or a.workers < 1:
        p.error("need --calls >= 1 and --workers >= 1")
    if not set(a.phases.split(",")) <= set(PHASES):
        p.error(f"--phases takes some of {','.join(PHASES)}")
    return Options(
        base_port=a.base_port,
        calls=a.calls,
        services=tuple(a.service or SERVICES),
        workers=a.workers,
        seed=a.seed,
        out=a.out,
        phases=a.phases,
    )


def say(message: str) -> None:
    print(f"[fuzz] {message}", file=sys.stderr, flush=True)


def suite_env() -> dict[str, str]:
    return {
        # One fuzzer sends thousands of calls from one address as one customer and one driver.
        "CATALOG_RATE_LIMIT_SAME_DAY": UNLIMITED,
        "ORDER_RATE_LIMIT_CHECKOUT": UNLIMITED,
        "ORDER_RATE_LIMIT_ORDERS": UNLIMITED,
        "DRIVER_RATE_LIMIT_SIGN_IN": UNLIMITED,
        "ORDER_OPERATOR_TOKEN": f"fuzz-operator-{uuid.uuid4().hex}",
        # The run outlasts the driver's 15-minute access token.
        "DRIVER_ACCESS_TOKEN_SECONDS": "86400",
        # A long poll holds its call up to this long: fuzzing is about answers, not waiting.
        "DRIVER_MAX_POLL_WAIT_SECONDS": "0.5",
        # Likewise the console's board stream, which stays open this long.
        "DISPATCH_CONSOLE_STREAM_SECONDS": "0.5",
        "CATALOG_RELAY_POLL_SECONDS": "0.2",
        "ORDER_RELAY_POLL_SECONDS": "0.2",
        "DISPATCH_RELAY_POLL_SECONDS": "0.2",
        "DRIVER_RELAY_POLL_SECONDS": "0.2",
    }


def new_suite(o: Options) -> Suite:
    keys_file = ROOT / ".local" / "fuzz" / KEYS_FILE
    return Suite(
        label="fuzz",
        base_port=o.base_port,
        extra_env=suite_env(),
        catalog_seed=(
            "--stores-per-mall=3",
            "--skus=60",
            "--max-inventory-events=0",
            f"--keys-file={keys_file}",
        ),
    )


def operations_of(url: str) -> int:
    document = httpx.get(f"{url}/openapi.json", timeout=30).json()
    return sum(
        1
        for item in document["paths"].values()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


def run_schemathesis(
    o: Options, service: str, url: str, callers: Callers, max_examples: int, seed: int, n: int
) -> tuple[int, int, int, list[str]]:
    """One schemathesis run; returns calls, failures, leaks and what failed."""
    o.out.mkdir(parents=True, exist_ok=True)
    counts_file = o.out / f"{service}-{n}.counts.json"
    report = o.out / f"{service}-{n}.report.json"
    context = o.out / f"{service}-{n}.context.json"
    context.write_text(
        json.dumps(
            {
                "service": service,
                "credentials_by_tag": callers.by_tag(service),
                "webhook_secret": callers.pos_secret,
                "customer_tags": CUSTOMER_TAGS[service],
                "identifiers": callers.identifiers,
                "counts_file": str(counts_file.resolve()),
            }
        )
    )
    context.chmod(0o600)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{url}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        o.phases,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        str(o.workers),
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "services.fuzz_hooks",
        CONTEXT_VARIABLE: str(context),
    }
    with open(o.out / f"{service}-{n}.log", "wb") as log:
        subprocess.run(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    counts = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    found = json.loads(report.read_text()) if report.exists() else {}
    failed = [
        f"{item.get('operation', '?')}: {item.get('title') or item.get('message') or item}"
        for key in ("failures", "errors")
        for item in found.get(key, [])
    ]
    if not found:
        failed.append(f"schemathesis wrote no report; see {o.out / f'{service}-{n}.log'}")
    return int(counts.get("calls", 0)), len(failed), int(counts.get("leaks", 0)), failed


def fuzz_service(o: Options, service: str, url: str, callers: Callers) -> Outcome:
    outcome = Outcome(service)
    operations = operations_of(url)
    # A first guess at examples per operation (the coverage phase sends many calls of its own);
    # each further round aims at what is still missing.
    share = 3 if "coverage" in o.phases else 1
    per_operation = max(5, math.ceil(o.calls / operations / share))
    for n in range(MAX_ROUNDS):
        started = time.monotonic()
        calls, failures, leaks, failed = run_schemathesis(
            o, service, url, callers, per_operation, o.seed + n, n
        )
        outcome.calls += calls
        outcome.failures += failures
        outcome.leaks += leaks
        outcome.details += failed
        say(
            f"{service}: round {n + 1}, {per_operation} examples an operation: {calls} calls, "
            f"{failures} failures, {leaks} leaks in {time.monotonic() - started:.0f} s"
        )
        if outcome.calls >= o.calls or calls == 0:
            break
        missing = o.calls - outcome.calls
        per_operation = max(5, math.ceil(per_operation * missing / calls * 1.2))
    return outcome


def run(o: Options, suite: Suite) -> list[Outcome]:
    callers = asyncio.run(gather_callers(suite))
    order_id = asyncio.run(place_an_order(suite, callers))
    say(f"credentials ready; a real order: {order_id or 'none (nothing on sale now)'}")
    return [fuzz_service(o, service, suite.urls[service], callers) for service in o.services]


def main(argv: list[str] | None = None) -> int:
    o = parse_options(argv)
    began = time.monotonic()
    suite = new_suite(o)
    say(f"starting a private suite on ports {o.base_port + 1}-{o.base_port + 4}")
    try:
        # Generous: on a loaded two-core machine four services took over 120 s to answer.
        suite.start(timeout=600)
        say(f"suite ready in {time.monotonic() - began:.0f} s; {o.calls} calls a service")
        outcomes = run(o, suite)
    finally:
        suite.stop()
        if suite.topic_suffix:
            asyncio.run(delete_topics(suite.env["KAFKA_BOOTSTRAP_SERVERS"], suite.topic_suffix))
    for outcome in outcomes:
        for detail in outcome.details[:20]:
            say(f"{outcome.service}: {detail}")
    say(f"finished in {time.monotonic() - began:.0f} s; reports in {o.out}")
    for outcome in outcomes:
        print(outcome.line(), flush=True)
    is_clean = all(x.failures == 0 and x.leaks == 0 and x.calls >= o.calls for x in outcomes)
    return 0 if is_clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
