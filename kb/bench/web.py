"""`kb bench-web`: a promise page under load, live (gunicorn) beside static (nginx), in one run.

Citizens arrive in bursts; this measures what one machine serves. wrk loads the same page
through the production WSGI server and, from the static build, through nginx, on loopback
only. Figures drift on a shared machine; the ratio, measured side by side, holds.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kb.web import create_app
from kb.web.static_build import build_site

PROMISE = "aubry-mutualisation-lille-lomme-hellemmes"
TARGET_LIVE_RPS = 3000


class BenchError(Exception):
    """A tool the benchmark needs is missing or a server did not start."""


@dataclass
class Load:
    """What wrk measured for one URL."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise BenchError(f"{url} ne répond pas après {seconds:.0f} s")


@contextmanager
def _running(command: list[str], env: dict | None = None, log: Path | None = None):
    with open(log or os.devnull, "w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> Load:
    """Requests/s, median and 99th percentile latency, and errors, from wrk --latency output."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _milliseconds(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _milliseconds(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Load(rate, p50, p99, errors + (int(non_2xx.group(1)) if non_2xx else 0))


def _wrk(url: str, seconds: int, connections: int) -> Load:
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_wrk(result.stdout)


def _nginx_config(site: Path, port: int, prefix: Path) -> Path:
    config = prefix / "nginx.conf"
    config.write_text(
        f"""worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {site};
        index index.html;
    }}
}}
""",
        encoding="utf-8",
    )
    return config


def run_web_benchmark(
    content_dir: Path,
    seconds: int = 10,
    connections: int = 64,
    workers: int = 2,
    threads: int = 8,
    say: Callable[[str], None] = print,
) -> dict:
    """Load the live and the static promise page side by side; print and return the figures."""
    missing = [tool for tool in ("wrk", "nginx") if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists()]
    if missing:
        raise BenchError(f"outils manquants : {', '.join(missing)} (apt-get install {' '.join(missing)})")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory(prefix="kb-bench-web-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)  # nginx's workers drop root for an unprivileged user that must read the site
        app = create_app({"CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(work / "instance")})
        build = build_site(app, work / "site", "http://127.0.0.1/")
        live_port, static_port = _free_port(), _free_port()
        env = dict(os.environ, KB_CONTENT_DIR=str(content_dir), KB_INSTANCE_DIR=str(work / "instance"))
        gunicorn = [
            sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
            "--threads", str(threads), "--bind", f"127.0.0.1:{live_port}", "kb.web:create_app()",
            "--reuse-port",  # a socket per process, as kb serve --production listens (kb.ops.server)
        ]  # fmt: skip
        live_url = f"http://127.0.0.1:{live_port}/promesses/{PROMISE}"
        static_url = f"http://127.0.0.1:{static_port}/promesses/{PROMISE}/index.html"
        (work / "nginx").mkdir()
        config = _nginx_config(work / "site", static_port, work / "nginx")
        with _running(gunicorn, env, work / "gunicorn.log"), _running([nginx, "-c", str(config), "-p", str(work / "nginx")]):
            _wait_for(live_url)
            try:
                _wait_for(static_url)
            except BenchError as error:
                log = (work / "nginx" / "error.log").read_text(encoding="utf-8", errors="replace")[-500:]
                raise BenchError(f"{error}\n{log}") from None
            live = _wrk(live_url, seconds, connections)
            static = _wrk(static_url, seconds, connections)
    figures = {
        "static_build_seconds": build.seconds,
        "static_build_files": build.files,
        "live": live,
        "static": static,
        "ratio": static.requests_per_second / live.requests_per_second if live.requests_per_second else float("inf"),
    }
    say(web_report(figures, seconds, connections, workers, threads))
    return figures


def web_report(f: dict, seconds: int, connections: int, workers: int, threads: int) -> str:
    """The figures as a table with the ratio and the target."""
    live, static = f["live"], f["static"]
    ok = "OK" if live.requests_per_second >= TARGET_LIVE_RPS else "HORS CIBLE"
    return "\n".join(
        [
            f"kb bench-web — page /promesses/{PROMISE}, wrk -t2 -c{connections} -d{seconds}s sur 127.0.0.1",
            f"construction statique : {f['static_build_files']} fichiers en {f['static_build_seconds']:.2f} s",
            "",
            f"{'':46}{'req/s':>10}{'p50 (ms)':>10}{'p99 (ms)':>10}{'erreurs':>9}",
            f"{f'vivant : gunicorn {workers} processus × {threads} fils':46}{live.requests_per_second:10.0f}"
            f"{live.p50_ms:10.2f}{live.p99_ms:10.2f}{live.errors:9d}",
            f"{'statique : nginx, construction kb build':46}{static.requests_per_second:10.0f}"
            f"{static.p50_ms:10.2f}{static.p99_ms:10.2f}{static.errors:9d}",
            f"rapport statique / vivant : {f['ratio']:.1f}",
            "",
            f"cible : page vivante ≥ {TARGET_LIVE_RPS} req/s : {live.requests_per_second:.0f} → {ok}",
        ]
    )
