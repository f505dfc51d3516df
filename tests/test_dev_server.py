"""`kb serve` as a newcomer runs it: one log line per request, the address it was given, no missing resource."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(content_dir, tmp_path, *args: str):
    return subprocess.Popen(
        [sys.executable, "-c", "from kb.ops.cli import main; main()", "serve", "--content", str(content_dir), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def get(url: str, deadline: float) -> tuple[int, bytes, str]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read(), response.headers.get_content_type()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_development_server_logs_each_request_once_and_serves_every_resource_a_page_names(content_dir, tmp_path):
    port = free_port()
    server = serve(content_dir, tmp_path, "--port", str(port))
    try:
        status, body, _ = get(f"http://127.0.0.1:{port}/promesses/balayeuses-communes", time.monotonic() + 60)
        assert status == 200
        resources = re.findall(r'(?:href|src)="(/(?:static/[^"]+|statuts\.css|favicon\.(?:ico|svg)))"', body.decode("utf-8"))
        assert "/favicon.svg" in resources
        for resource in [*resources, "/favicon.ico"]:
            assert get(f"http://127.0.0.1:{port}{resource}", time.monotonic() + 10)[0] == 200, resource
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"servi sur http://127.0.0.1:{port}/" in output
    assert len([line for line in output.splitlines() if "GET /promesses/balayeuses-communes" in line]) == 1, output


def test_favicon_ico_is_the_sites_icon(client):
    response = client.get("/favicon.ico")
    body = response.get_data()
    response.close()  # static files are streamed from an open file
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO header
