"""The web benchmark reads wrk's report correctly (the load itself is run by `kb bench-web`)."""

from kb.bench.web import parse_wrk

WRK_OUTPUT = """Running 8s test @ http://127.0.0.1:5000/promesses/x
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    25.10ms   40.20ms 500.00ms   95.00%
    Req/Sec     1.75k   200.00     2.10k    70.00%
  Latency Distribution
     50%   19.99ms
     75%   25.00ms
     90%   40.00ms
     99%  330.16ms
  27680 requests in 8.00s, 300.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:   3460.12
Transfer/sec:     37.50MB
"""


def test_wrk_report_gives_rate_percentiles_and_every_kind_of_error():
    load = parse_wrk(WRK_OUTPUT)
    assert load.requests_per_second == 3460.12
    assert (load.p50_ms, load.p99_ms) == (19.99, 330.16)
    assert load.errors == 3 + 2 + 4


def test_wrk_latencies_in_microseconds_and_seconds_are_converted():
    load = parse_wrk(WRK_OUTPUT.replace("19.99ms", "850.00us").replace("330.16ms", "1.20s"))
    assert (load.p50_ms, load.p99_ms) == (0.85, 1200.0)


def test_the_live_benchmark_script_holds_french_paths_as_ascii_lua_can_read():
    # A JSON escape such as \u00e9 is no Lua escape: wrk would drop the script and load "/" alone.
    import json
    import re
    from urllib.parse import unquote

    from kb.bench.live import _lua

    paths = ["/recherche?q=entrée", "/promesses?status=done&page=2", "/sources/délibération-2024"]
    script = _lua(paths, seed=1)
    assert script.isascii() and "\\u" not in script
    table = re.search(r"local paths = \{(.*)\}", script).group(1)
    assert [unquote(path) for path in json.loads(f"[{table}]")] == paths


def test_the_live_benchmark_counts_each_worker_s_requests_during_the_load_idle_ones_too():
    from datetime import datetime

    from kb.bench.live import _per_process

    def at(seconds: float) -> str:
        return datetime.fromtimestamp(1_800_000_000 + seconds).astimezone().isoformat().replace("+00:00", "Z")

    log = [
        {"event": "request", "time": at(0.5), "pid": 11},
        {"event": "request", "time": at(1.0), "pid": 12},
        {"event": "request", "time": at(1.5), "pid": 12},
        {"event": "request", "time": at(9.0), "pid": 11},  # after the load
        {"event": "index.catch_up", "time": at(1.2), "pid": 11},
        {"event": "request", "time": at(1.2), "pid": 99},  # the scanner process's page drawer: no worker
    ]
    assert _per_process(log, 1_800_000_000, 1_800_000_002, [11, 12, 13]) == [2, 1, 0]
