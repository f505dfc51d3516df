"""A live kb server on the demo content, and Debian's Chromium driven by Playwright."""

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from kb.web import create_app

from ..conftest import DEMO_CONTENT

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium reaches for Google's servers at every start on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@contextmanager
def serving(app):
    """`app` served for real on a free port of 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, session_database_url):
    """The site on a copy of the demo content."""
    root = tmp_path_factory.mktemp("live")
    content = Path(shutil.copytree(DEMO_CONTENT, root / "content"))
    config = {"CONTENT_DIR": str(content), "INSTANCE_DIR": str(root / "instance"), "DATABASE_URL": session_database_url}
    with serving(create_app(config)) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (sh scripts/dev test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def watch_failures(page) -> list[str]:
    """A list that fills with every server error and script error the page meets (it should stay empty)."""
    failures: list[str] = []
    page.on("response", lambda response: response.status >= 500 and failures.append(f"{response.status} {response.url}"))
    page.on("pageerror", lambda error: failures.append(f"JavaScript: {error}"))
    return failures


def pytest_collection_modifyitems(items):
    """A file the live server's thread leaves to the garbage collector — a font Chromium stopped downloading
    when the page moved on — is reported during whichever test runs then. Werkzeug's development server
    is the test's tool, not kb (gunicorn closes every response): its leaks are not the test's failure."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"))
