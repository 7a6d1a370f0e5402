"""The benchmark harness's arithmetic and parsing (no benchmark runs in the tests)."""

from __future__ import annotations

import uuid

import pytest

from bench.harness import (
    BenchError,
    bench_line,
    percentile,
)
from bench.load import (
    WRK_DONE,
    get_paths_script,
    parse_hey_csv,
    parse_wrk,
)
from bench.relay import an_event

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:19200
  1 threads and 32 connections
WRKJSON {"requests": 28630, "duration_us": 10002345, "p50_us": 9120, "p99_us": 41230, \
"status": 3, "socket": 1, "counters": {"placed": 280, "conflicts": 4, "status_503": 3}}
"""

HEY_CSV = """response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,\
status-code,offset
0.0021,0.0001,0.0000,0.0000,0.0019,0.0001,200,0.0010
0.0052,0.0000,0.0000,0.0000,0.0050,0.0001,200,0.0020
0.0100,0.0000,0.0000,0.0000,0.0098,0.0001,503,0.0030
0.0031,0.0000,0.0000,0.0000,0.0030,0.0001,200,0.0040
"""


def test_wrk_result_line_gives_exact_figures_and_counters() -> None:
    result = parse_wrk(WRK_OUTPUT)

    assert result.requests == 28630
    assert result.rps == pytest.approx(28630 / 10.002345)
    assert (result.p50_ms, result.p99_ms) == (9.12, 41.23)
    assert (result.non_2xx, result.socket_errors) == (3, 1)
    assert result.counters == {"placed": 280, "conflicts": 4, "status_503": 3}


def test_wrk_output_without_a_result_line_is_an_error() -> None:
    with pytest.raises(BenchError, match="no result line"):
        parse_wrk("unable to connect to 127.0.0.1:19200 Connection refused\n")


def test_hey_csv_gives_latencies_and_statuses() -> None:
    result = parse_hey_csv(HEY_CSV, seconds=2.0)

    assert result.latencies_ms == pytest.approx([2.1, 5.2, 10.0, 3.1])
    assert result.statuses == {200: 3, 503: 1}
    assert result.rps == 2.0
    assert result.p50_ms == pytest.approx(3.1)
    assert result.p99_ms == pytest.approx(10.0)


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]

    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0


def test_bench_line_keeps_the_field_order() -> None:
    line = bench_line("catalog", rps=2863.4, bare_rps=3886.0, ratio=0.7368, p50_ms=8.8, n=12)

    assert line == "BENCH catalog rps=2863 bare_rps=3886 ratio=0.74 p50_ms=8.80 n=12"


def test_wrk_scripts_rotate_paths_and_report_through_done() -> None:
    script = get_paths_script(["/a?x=1", '/b?q="quoted"']) + WRK_DONE

    assert 'local paths = {"/a?x=1", "/b?q=\\"quoted\\""}' in script
    assert "function done(summary, latency, requests)" in script
    assert script.count("function setup(") == 1


def test_the_relay_benchmark_event_is_a_valid_contract() -> None:
    event = an_event(uuid.uuid4())

    assert event.TYPE == "order.ready_for_pickup"
    assert event.model_validate(event.model_dump()) == event
