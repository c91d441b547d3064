"""Browser tests: one Chromium for the whole run (Debian's chromium-headless-shell, launched
by path: ``HEARTH_CHROMIUM`` overrides it), and one hearth server with a few tenants."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from hearth.config import Settings
from hearth.governance import tenancy
from hearth.governance.plans import LevelLimits, PlanLimits
from hearth.store.db import Database
from live_server import FAKE_ENV, LiveServer, start_server

CHROMIUM = os.environ.get("HEARTH_CHROMIUM") or shutil.which("chromium-headless-shell") \
    or "/usr/bin/chromium-headless-shell"
TINY_QUOTA = 5  # tokens per day: one short chat turn uses it up


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@dataclass
class Site:
    server: LiveServer
    keys: dict[str, str]  # user name -> API key secret

    @property
    def root(self) -> str:
        return self.server.root


def _tenants(home: Path) -> dict[str, str]:
    """Org acme (alice, bob, members; root, an admin; tight, on a tiny token quota) and org
    other (eve, its admin); one key each."""
    db = Database.from_settings(Settings(home=home))
    db.migrate()
    try:
        tenancy.set_plan(db, "test", "tiny", priority=0, limits=PlanLimits(
            tokens_per_day=LevelLimits(user=TINY_QUOTA)))
        tenancy.create_org(db, "test", "acme", plan="enterprise")
        tenancy.create_org(db, "test", "other", plan="enterprise")
        people = {"alice": ("acme", "member", None), "bob": ("acme", "member", None),
                  "root": ("acme", "admin", None), "tight": ("acme", "member", "tiny"),
                  "eve": ("other", "admin", None)}
        keys = {}
        for name, (org, role, plan) in people.items():
            tenancy.create_user(db, "test", org, name, role=role, plan=plan)
            keys[name] = tenancy.create_key(db, "test", org, name).secret
        return keys
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("web-home")
    keys = _tenants(home)
    # The cookie stays Secure (the default): Chromium counts 127.0.0.1 as a secure origin.
    server = start_server(home, {**FAKE_ENV, "HEARTH_FAKE_TOKEN_DELAY": "0.02"})
    yield Site(server, keys)
    server.stop()


def sign_in(browser: Browser, site: Site, user: str) -> Page:
    """A fresh browser context signed in as ``user`` through the sign-in form."""
    page = browser.new_context(base_url=site.root).new_page()
    page.goto("/signin")
    page.fill("#api_key", site.keys[user])
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.root}/")
    return page
