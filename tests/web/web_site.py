"""What the browser tests share besides fixtures: the site they run against, its tenants and
signing in (a module of its own: ``conftest`` is a name several test folders use)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page
from sqlalchemy import select

from hearth.config import Settings
from hearth.governance import tenancy
from hearth.governance.plans import LevelLimits, PlanLimits
from hearth.store.db import Database
from hearth.store.tables import UsageRecord
from live_server import LiveServer

TINY_QUOTA = 5  # tokens per day: one short chat turn uses it up


@dataclass
class Site:
    server: LiveServer
    keys: dict[str, str]  # user name -> API key secret

    @property
    def root(self) -> str:
        return self.server.root


def make_tenants(home: Path) -> dict[str, str]:
    """Org acme (alice, bob, members; root, an admin; tight, on a tiny token quota), org
    other (eve, its admin) and the operator's org (ops, an admin of every org); one key each."""
    db = Database.from_settings(Settings(home=home))
    db.migrate()
    try:
        tenancy.set_plan(db, "test", "tiny", priority=0, limits=PlanLimits(
            tokens_per_day=LevelLimits(user=TINY_QUOTA)))
        tenancy.create_org(db, "test", "acme", plan="enterprise")
        tenancy.create_org(db, "test", "other", plan="enterprise")
        people = {"alice": ("acme", "member", None), "bob": ("acme", "member", None),
                  "root": ("acme", "admin", None), "tight": ("acme", "member", "tiny"),
                  "eve": ("other", "admin", None), "ops": ("local", "admin", None)}
        keys = {}
        for name, (org, role, plan) in people.items():
            tenancy.create_user(db, "test", org, name, role=role, plan=plan)
            keys[name] = tenancy.create_key(db, "test", org, name).secret
        return keys
    finally:
        db.dispose()


def sign_in(browser: Browser, site: Site, user: str) -> Page:
    """A fresh browser context signed in as ``user`` through the sign-in form."""
    page = browser.new_context(base_url=site.root).new_page()
    page.goto("/signin")
    page.fill("#api_key", site.keys[user])
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.root}/")
    return page


def last_usage(site: Site, user: str) -> UsageRecord:
    """The latest request the server metered for ``user``: what it settled, as stored."""
    db = Database.from_settings(Settings(home=site.server.home))
    try:
        with db.session() as session:
            return session.scalars(select(UsageRecord).where(UsageRecord.user_id == user)
                                   .order_by(UsageRecord.id.desc()).limit(1)).one()
    finally:
        db.dispose()
