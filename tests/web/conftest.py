"""Browser tests: one Chromium for the whole run (Debian's chromium-headless-shell, launched
by path: ``HEARTH_CHROMIUM`` overrides it), and one hearth server with a few tenants."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from live_server import FAKE_ENV, start_server
from web_site import Site, make_tenants

CHROMIUM = os.environ.get("HEARTH_CHROMIUM") or shutil.which("chromium-headless-shell") \
    or "/usr/bin/chromium-headless-shell"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Playwright's sync API keeps an event loop running in this thread until the session ends,
    so a test run after it cannot call ``asyncio.run``: ``tests/web`` sorts last of the test
    folders, and must stay last."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("web-home")
    keys = make_tenants(home)
    # The cookie stays Secure (the default): Chromium counts 127.0.0.1 as a secure origin.
    server = start_server(home, {**FAKE_ENV, "HEARTH_FAKE_TOKEN_DELAY": "0.02"})
    yield Site(server, keys)
    server.stop()
