"""A streamed chat in the browser with the real default model, on a fresh open install."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, expect

from live_server import LiveServer, default_model_path

pytestmark = pytest.mark.model


def test_a_fresh_install_opens_straight_to_a_streamed_chat(
        browser: Browser, serve: Callable[..., LiveServer]) -> None:
    if not default_model_path().exists():
        pytest.fail("the default model is missing: run `hearth models pull`")
    server = serve(args=["--model", str(default_model_path()), "--parallel", "1"])
    page = browser.new_context(base_url=server.root).new_page()
    page.goto("/")
    assert page.url == f"{server.root}/"  # no keys yet: no sign-in
    page.fill("#prompt", "Reply with one short friendly sentence.")
    page.press("#prompt", "Enter")
    expect(page.locator("#log")).to_have_attribute("aria-busy", "true")
    expect(page.locator("#send")).to_have_text("Send", timeout=120_000)
    reply = page.locator(".msg.assistant .md").last.inner_text()
    assert reply.strip() and page.locator(".msg.assistant .error").count() == 0
    page.context.close()
