"""The web app's measured goals: JavaScript shipped, time to interactive, idle server memory
with and without the web app, and long tasks in a 500-message conversation.

Run from the repository root (needs the test extra and chromium-headless-shell):
    .venv/bin/python benchmarks/web_goals.py
Writes benchmarks/results/web/goals.json. The fake engine serves, so the figures are the web
app's own, not the model's.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from live_server import FAKE_ENV, start_server  # noqa: E402

CHROMIUM = os.environ.get("HEARTH_CHROMIUM") or shutil.which("chromium-headless-shell")
LONG_TASK_SCRIPT = """window.__long = []; new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__long.push(e.duration); })
  .observe({type: "longtask", buffered: true});"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def idle_rss(web: bool) -> float:
    with tempfile.TemporaryDirectory() as home:
        server = start_server(Path(home), {**FAKE_ENV, "HEARTH_WEB": str(web).lower()})
        try:
            time.sleep(3)
            return round(rss_mb(server.process.pid), 1)
        finally:
            server.stop()


def main() -> None:
    results: dict = {"rss_idle_mb": {"with_web": idle_rss(True), "without_web": idle_rss(False)}}
    results["rss_idle_mb"]["difference"] = round(
        results["rss_idle_mb"]["with_web"] - results["rss_idle_mb"]["without_web"], 1)
    with tempfile.TemporaryDirectory() as home:
        server = start_server(Path(home), {**FAKE_ENV, "HEARTH_FAKE_TOKEN_DELAY": "0.005"})
        try:
            history: list[dict] = []
            with httpx.Client(base_url=server.base_url, timeout=30) as client:
                for turn in range(250):
                    history.append({"role": "user", "content": f"Message {turn}: **markdown** "
                                    "with `code` and a list:\n\n- one\n- two"})
                    reply = client.post("/chat/completions", json={
                        "model": "fake-model", "messages": history,
                        "metadata": {"conversation": "conv_long", "memory": "off"}}).json()
                    history.append({"role": "assistant",
                                    "content": reply["choices"][0]["message"]["content"]})
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_page()
                sizes, loads = [], []
                page.on("response", lambda r: sizes.append(len(r.body()))
                        if r.request.resource_type == "script" else None)
                for _ in range(5):
                    sizes.clear()
                    page.goto(f"{server.root}/")
                    loads.append(page.evaluate(
                        "performance.getEntriesByType('navigation')[0].domInteractive"))
                results["javascript_bytes"] = sum(sizes)
                results["time_to_interactive_ms"] = round(statistics.median(loads), 1)
                page.add_init_script(LONG_TASK_SCRIPT)
                page.goto(f"{server.root}/c/conv_long")
                page.wait_for_selector(".msg:nth-child(500)")
                for _ in range(20):
                    page.mouse.wheel(0, -2000)
                    page.wait_for_timeout(50)
                page.fill("#prompt", " ".join(f"word{i}" for i in range(400)))
                page.press("#prompt", "Enter")
                page.wait_for_selector("#send.stop")
                page.wait_for_selector("#send:not(.stop)", timeout=60_000)
                long_tasks = page.evaluate("window.__long")
                results["conversation_500"] = {
                    "messages_rendered": page.locator(".msg").count(),
                    "longest_task_ms": round(max(long_tasks, default=0), 1),
                    "tasks_over_100_ms": sum(1 for d in long_tasks if d > 100)}
                browser.close()
        finally:
            server.stop()
    out = ROOT / "benchmarks" / "results" / "web" / "goals.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
