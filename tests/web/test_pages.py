"""The web app in a real browser: sign-in, chat, Stop, memory, quotas, admin, isolation,
stored XSS and accessibility. One server (fake engine) serves the module."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from web_site import TINY_QUOTA, Site, last_usage, sign_in

SCREENSHOTS = Path(__file__).parents[2] / "benchmarks" / "results" / "web"
XSS = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=1</script>",
       "[click](javascript:window.__xss=1)", "![pixel](http://203.0.113.9/p.png)"]


def api(site: Site, user: str) -> httpx.Client:
    return httpx.Client(base_url=site.root, timeout=30,
                        headers={"Authorization": f"Bearer {site.keys[user]}"})


def send(page: Page, text: str) -> None:
    """Type a message, press Enter, and wait until the reply has finished streaming."""
    page.fill("#prompt", text)
    page.press("#prompt", "Enter")
    expect(page.locator("#send")).to_have_text("Stop")
    expect(page.locator("#send")).to_have_text("Send", timeout=20_000)
    page.wait_for_load_state("networkidle")


def call(page: Page, method: str, path: str) -> int:
    """The status of a request the signed-in page itself makes (cookie and CSRF token)."""
    return page.evaluate("""async ([method, path]) => (await fetch(path, {method,
        headers: {"X-CSRF-Token": document.querySelector('meta[name=csrf-token]').content,
                  "Content-Type": "application/json"},
        body: method === "PATCH" ? JSON.stringify({title: "mine now"}) : undefined})).status""",
                         [method, path])


def test_sign_in_opens_a_session_cookie_and_sign_out_ends_it(browser: Browser,
                                                              site: Site) -> None:
    page = browser.new_context(base_url=site.root).new_page()
    page.goto("/memory")
    assert page.url.endswith("/signin")
    page.fill("#api_key", "hth_wrong_key_that_does_not_exist")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("Invalid API key")
    page.fill("#api_key", site.keys["alice"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.root}/")
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == \
        ("hearth_session", True, "Strict", True)
    assert page.evaluate("Object.keys(localStorage).length") == 0
    page.click("text=Sign out")
    page.wait_for_url(f"{site.root}/signin")
    page.goto("/")
    assert page.url.endswith("/signin")
    with api(site, "root") as admin:
        actions = [e["action"] for e in admin.get("/admin/v1/audit").json()
                   if e["target"] == "acme/alice"]
    assert actions[:2] == ["session.end", "session.start"]


def password_sign_in(page: Page, org: str, user: str, password: str) -> None:
    page.goto("/signin")
    page.fill("#org", org)
    page.fill("#user", user)
    page.fill("#password", password)
    page.click("text=Sign in with password")


def test_an_admin_sets_a_password_the_user_signs_in_with_and_clearing_it_ends_that(
        browser: Browser, site: Site) -> None:
    admin = sign_in(browser, site, "root")
    admin.goto("/admin")
    admin.fill("#pw-user", "alice")
    admin.fill("#pw-value", "a good long password")
    admin.click("text=Set password")
    expect(admin.locator("#users tr", has_text="alice")).to_contain_text("set")
    page = browser.new_context(base_url=site.root).new_page()
    for user, password in (("alice", "not her password"), ("nobody", "a good long password")):
        password_sign_in(page, "acme", user, password)
        expect(page.locator(".error")).to_have_text("Unknown user or wrong password.")
    password_sign_in(page, "acme", "alice", "a good long password")
    page.wait_for_url(f"{site.root}/")
    assert call(page, "GET", "/v1/memories") == 200
    assert call(page, "GET", "/admin/v1/orgs/acme/users") == 403  # a member's rights, no more
    with api(site, "root") as client:
        entries = [(e["action"], e["target"]) for e in client.get("/admin/v1/audit").json()]
    assert entries[:3] == [("session.start", "acme/alice"), ("session.refused", "acme/nobody"),
                           ("session.refused", "acme/alice")]
    admin.fill("#pw-user", "alice")
    admin.click("text=Clear password")
    expect(admin.locator("#users tr", has_text="alice")).to_contain_text("none")
    assert call(page, "GET", "/v1/memories") == 401
    page.context.close()
    admin.context.close()


def test_cookie_requests_from_other_sites_or_without_the_token_are_refused(
        browser: Browser, site: Site) -> None:
    page = sign_in(browser, site, "bob")
    cookie = {"hearth_session": page.context.cookies()[0]["value"]}
    with httpx.Client(base_url=site.root, cookies=cookie) as client:
        assert client.get("/v1/memories").status_code == 200
        assert client.get("/v1/memories", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
        assert client.post("/v1/memories", json={"text": "x", "kind": "profile"}).status_code == 403
        assert client.get("/v1/memories", headers={"Origin": "http://evil.example"}).status_code == 403
    page.context.close()


def test_a_streamed_reply_renders_markdown_and_stop_cancels_it(browser: Browser,
                                                               site: Site) -> None:
    page = sign_in(browser, site, "alice")
    send(page, "Say **bold** and `code`")
    reply = page.locator(".msg.assistant .md").last
    expect(reply.locator("strong")).to_have_text("bold")
    expect(reply.locator("code")).to_have_text("code")
    page.fill("#prompt", " ".join(f"word{i}" for i in range(300)))
    page.press("#prompt", "Enter")
    expect(page.locator("#log")).to_have_attribute("aria-busy", "true")
    expect(page.locator(".msg.assistant .md").last).to_contain_text("word1")
    page.click("#send")  # now Stop
    expect(page.locator(".stopped")).to_be_visible()
    expect(page.locator("#log")).to_have_attribute("aria-busy", "false")
    assert "word299" not in page.locator(".msg.assistant .md").last.inner_text()
    conversation = page.url.rsplit("/", 1)[-1]
    page.wait_for_timeout(500)
    with api(site, "alice") as client:
        stored = client.get(f"/v1/conversations/{conversation}").json()["messages"]
    # The first turn's answer is stored; the stopped one never finished, so it is not.
    assert [m["role"] for m in stored] == ["user", "assistant", "user"]
    # The server cancelled the generation: metered as 499, well short of the 300 words.
    stopped = last_usage(site, "alice")
    assert (stopped.route, stopped.status) == ("chat.completions", 499)
    assert stopped.completion_tokens < 200
    page.context.close()


def stored_texts(site: Site, user: str, conversation: str) -> list[tuple[str, str]]:
    with api(site, user) as client:
        got = client.get(f"/v1/conversations/{conversation}").json()
    return [(m["role"], m["content"][:12]) for m in got["messages"]]


def test_regenerate_edit_and_rename_leave_only_the_new_version_stored(browser: Browser,
                                                                       site: Site) -> None:
    page = sign_in(browser, site, "bob")
    send(page, "first question")
    send(page, "second question")
    conversation = page.url.rsplit("/", 1)[-1]
    page.click("#regenerate")
    expect(page.locator("#send")).to_have_text("Send", timeout=20_000)
    page.wait_for_load_state("networkidle")
    assert [role for role, _ in stored_texts(site, "bob", conversation)] == \
        ["user", "assistant", "user", "assistant"]
    page.locator(".msg.user", has_text="first question").get_by_role("button",
                                                                      name="Edit").click()
    expect(page.locator("#prompt")).to_have_value("first question")
    send(page, "edited question")
    assert [(role, text[:6]) for role, text in stored_texts(site, "bob", conversation)][:1] == \
        [("user", "edited")]
    assert len(stored_texts(site, "bob", conversation)) == 2
    page.once("dialog", lambda dialog: dialog.accept("Renamed in the browser"))
    page.get_by_role("button", name="Rename first question").click()
    expect(page.locator("#conv-list")).to_contain_text("Renamed in the browser")
    with api(site, "bob") as client:
        assert client.get(f"/v1/conversations/{conversation}").json()["title"] == \
            "Renamed in the browser"
    page.context.close()


def test_memories_exported_then_forgotten_come_back_from_the_file(browser: Browser,
                                                                  site: Site,
                                                                  tmp_path: Path) -> None:
    page = sign_in(browser, site, "eve")
    page.goto("/memory")
    page.fill("#mem-new", "Eve grows tomatoes")
    page.press("#mem-new", "Enter")
    expect(page.locator("#mem-rows")).to_contain_text("Eve grows tomatoes")
    with page.expect_download() as exported:
        page.click("#mem-export")
    saved = tmp_path / "memories.json"
    exported.value.save_as(saved)
    page.click("#mem-forget-all")
    page.click("#confirm-yes")
    expect(page.locator("#mem-rows")).to_contain_text("Nothing remembered yet.")
    page.set_input_files("#mem-import", saved)
    expect(page.locator("#mem-rows")).to_contain_text("Eve grows tomatoes")
    with api(site, "eve") as client:
        assert [m["text"] for m in client.get("/v1/memories").json()["data"]] == \
            ["Eve grows tomatoes"]
    page.context.close()


def test_an_admin_downloads_usage_as_csv_and_verifies_the_audit_chain(browser: Browser,
                                                                      site: Site) -> None:
    org_admin = sign_in(browser, site, "root")
    org_admin.goto("/admin")  # the chain spans every org: an org's admin is told who checks it
    expect(org_admin.locator("#h-audit ~ .hint")).to_contain_text("the operator's admins")
    org_admin.context.close()
    page = sign_in(browser, site, "ops")
    send(page, "count me")
    page.goto("/admin")
    with page.expect_download() as downloaded:
        page.click("#usage-csv")
    lines = Path(downloaded.value.path()).read_text().splitlines()
    assert lines[0].startswith("group,requests,prompt_tokens,completion_tokens")
    assert any(line.startswith("local/ops,") for line in lines[1:]), lines
    page.click("#verify")
    expect(page.locator("#verify-result")).to_contain_text("The chain holds")
    page.context.close()


def test_memories_show_under_a_reply_until_forgotten_and_incognito_uses_none(
        browser: Browser, site: Site) -> None:
    with api(site, "alice") as client:
        made = client.post("/v1/memories", json={"text": "Alice keeps bees", "kind": "profile",
                                                 "pinned": True})
    assert made.status_code == 201
    page = sign_in(browser, site, "alice")
    page.check("#incognito")
    send(page, "What do you know about me?")
    expect(page.locator(".msg.assistant .memories")).to_have_count(0)
    page.uncheck("#incognito")
    send(page, "And now?")
    used = page.locator(".msg.assistant").last.locator(".memories")
    used.locator("summary").click()
    bees = used.locator("li", has_text="Alice keeps bees")
    bees.get_by_role("button", name="Why do you know this?").click()
    expect(bees.locator(".why")).to_contain_text("api")
    page.goto("/memory")
    row = page.locator("tr", has_text="Alice keeps bees")
    row.get_by_role("button", name="Forget").click()
    expect(page.locator("tr", has_text="Alice keeps bees")).to_have_count(0)
    page.goto("/")
    send(page, "Anything?")
    expect(page.locator(".msg.assistant")).to_have_count(1)
    assert "Alice keeps bees" not in page.locator(".msg.assistant").inner_text()
    page.context.close()


def test_a_used_up_quota_is_said_plainly(browser: Browser, site: Site) -> None:
    page = sign_in(browser, site, "tight")
    send(page, "one two three four five six")
    page.fill("#prompt", "again")
    page.press("#prompt", "Enter")
    expect(page.locator(".msg.assistant .error")).to_contain_text(
        f"Token quota reached: {TINY_QUOTA} tokens per day")
    page.goto("/usage")
    expect(page.locator("#quotas")).to_contain_text(f"0 of {TINY_QUOTA} tokens left today")
    page.context.close()


def test_an_admin_creates_a_key_shown_once_and_revokes_it(browser: Browser,
                                                          site: Site) -> None:
    page = sign_in(browser, site, "root")
    page.goto("/admin")
    page.fill("#key-user", "bob")
    page.fill("#key-name", "laptop")
    page.click("text=Create key")
    secret = page.locator(".new-key").inner_text()
    with httpx.Client(base_url=site.root, headers={"Authorization": f"Bearer {secret}"}) as bob:
        assert bob.get("/v1/models").status_code == 200
        page.locator("tr", has_text="laptop").get_by_role("button", name="Revoke").click()
        expect(page.locator("tr", has_text="laptop")).to_contain_text("revoked")
        assert bob.get("/v1/models").status_code == 401
    page.reload()
    assert secret not in page.content()
    page.context.close()


def test_another_users_or_orgs_ids_are_refused_on_every_page(browser: Browser,
                                                             site: Site) -> None:
    with api(site, "bob") as bob:
        bob.post("/v1/chat/completions", json={
            "model": "fake-model", "messages": [{"role": "user", "content": "bob's secret"}],
            "metadata": {"conversation": "conv_bobs"}}).raise_for_status()
        memory = bob.post("/v1/memories", json={"text": "Bob's secret", "kind": "profile"}).json()
    with api(site, "eve") as eve:
        eve_keys = eve.get("/admin/v1/orgs/other/keys").json()
    page = sign_in(browser, site, "alice")
    page.goto("/c/conv_bobs")
    expect(page.locator("h1")).to_have_text("Not here")
    assert "bob's secret" not in page.content()
    page.goto("/")  # a page of alice's own, whose CSRF token her calls carry
    for method, path in [("GET", "/v1/conversations/conv_bobs"),
                         ("PATCH", "/v1/conversations/conv_bobs"),
                         ("DELETE", "/v1/conversations/conv_bobs"),
                         ("GET", f"/v1/memories/{memory['id']}"),
                         ("GET", f"/v1/memories/{memory['id']}/sources"),
                         ("DELETE", f"/v1/memories/{memory['id']}")]:
        assert call(page, method, path) == 404, (method, path)
    page.goto("/admin")
    expect(page.locator("h1")).to_have_text("Not here")
    page.goto("/")
    assert call(page, "DELETE", f"/admin/v1/keys/{eve_keys[0]['id']}") == 403
    page.context.close()
    admin = sign_in(browser, site, "root")
    for method, path in [("GET", "/admin/v1/orgs/other/users"),
                         ("GET", "/admin/v1/orgs/other/keys"),
                         ("DELETE", f"/admin/v1/keys/{eve_keys[0]['id']}"),
                         ("DELETE", "/admin/v1/orgs/other/users/eve/sessions")]:
        assert call(admin, method, path) == 404, (method, path)
    admin.context.close()


def test_stored_scripts_in_chat_memory_and_titles_never_run(browser: Browser,
                                                            site: Site) -> None:
    payload = " ".join(XSS)
    with api(site, "bob") as bob:
        for text in XSS:
            bob.post("/v1/memories", json={"text": text, "kind": "profile", "pinned": True})
    page = sign_in(browser, site, "bob")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    send(page, payload)
    conversation = page.url.rsplit("/", 1)[-1]
    with api(site, "bob") as bob:
        bob.patch(f"/v1/conversations/{conversation}", json={"title": XSS[0]}).raise_for_status()
    for path in (f"/c/{conversation}", "/memory"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        page.locator("details.memories summary").first.click() if path.startswith("/c") else None
        assert page.evaluate("window.__xss") is None
        assert page.locator("#main script, #main img, #main a[href^=javascript]").count() == 0
    assert dialogs == []
    page.context.close()


PAGES = ["/", "/memory", "/usage", "/admin", "/signin"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_no_serious_accessibility_violations(browser: Browser, site: Site,
                                                            path: str) -> None:
    page = sign_in(browser, site, "root")
    if path == "/":
        send(page, "Show me a list:\n\n- one\n- two\n\n```python\nprint('hi')\n```")
    else:
        page.goto(path)
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = path.strip("/") or "chat"
    page.screenshot(path=SCREENSHOTS / f"{name}.png")
    violations = [v for v in Axe().run(page).response["violations"]
                  if v["impact"] in ("serious", "critical")]
    assert violations == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]])
                              for v in violations]
    page.context.close()
