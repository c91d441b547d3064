"""Several clients talking in one conversation at once: each turn reads back whole, its user
message followed by its own answer, however the turns overlapped; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from live_server import FAKE_ENV, LiveServer, start_server

MODEL = FAKE_ENV["HEARTH_MODEL"]
CLIENTS = 4
TURNS = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           module_database_url: str) -> Iterator[LiveServer]:
    # Each word takes a while, so every turn's answer is written while others have started.
    live = start_server(tmp_path_factory.mktemp("home"),
                        env={**FAKE_ENV, "HEARTH_DATABASE_URL": module_database_url,
                             "HEARTH_FAKE_TOKEN_DELAY": "0.01", "HEARTH_PARALLEL": "8"})
    yield live
    live.stop()


def talk(server: LiveServer, client: str, conversation_id: str) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for turn in range(TURNS):
            reply = http.post("/chat/completions", json={
                "model": MODEL, "metadata": {"conversation": conversation_id},
                "messages": [{"role": "user", "content": f"{client} turn {turn}"}]})
            assert reply.status_code == 200, reply.text


def test_overlapping_turns_read_back_each_answer_right_after_its_message(
        server: LiveServer) -> None:
    with ThreadPoolExecutor(CLIENTS) as pool:
        for done in [pool.submit(talk, server, f"client{i}", "shared")
                     for i in range(CLIENTS)]:
            done.result()

    stored = httpx.get(f"{server.base_url}/conversations/shared").json()["messages"]

    assert len(stored) == 2 * CLIENTS * TURNS
    pairs = [(stored[i], stored[i + 1]) for i in range(0, len(stored), 2)]
    assert [(asked["role"], answer["role"]) for asked, answer in pairs] == \
        [("user", "assistant")] * len(pairs)
    assert [answer["content"] for _, answer in pairs] == \
        [f"You said: {asked['content']}" for asked, _ in pairs]
    for i in range(CLIENTS):  # and each client's own turns in the order it took them
        mine = [asked["content"] for asked, _ in pairs if asked["content"].startswith(f"client{i} ")]
        assert mine == [f"client{i} turn {turn}" for turn in range(TURNS)]
