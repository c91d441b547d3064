"""``hearth chat`` as a user runs it: a subprocess reading lines from stdin, with the fake
engine in-process or a live fake server behind ``--url``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hearth.store import conversations
from hearth.store.db import Database
from live_server import FAKE_ENV, LiveServer


def hearth_chat(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``hearth chat`` with the fake engine and its data in ``home``."""
    env = {**os.environ, **FAKE_ENV, "HEARTH_HOME": str(home), "COLUMNS": "200"}
    env.pop("HEARTH_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "hearth", "chat", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=60)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@dataclass(frozen=True)
class FirstChat:
    home: Path
    output: str


@pytest.fixture(scope="module")
def first_chat(tmp_path_factory: pytest.TempPathFactory) -> FirstChat:
    """A home in which one chat of two lines has happened (copy it before changing it)."""
    home = tmp_path_factory.mktemp("chatted") / "home"
    return FirstChat(home, ok(hearth_chat(home, stdin="hello\nsecond line\n")))


@contextmanager
def opened(home: Path) -> Iterator[Database]:
    """The database ``hearth chat`` wrote in ``home``."""
    database = Database(f"sqlite:///{home / 'hearth.db'}")
    try:
        yield database
    finally:
        database.dispose()


def stored_messages(home: Path) -> list[tuple[str, str | None]]:
    with opened(home) as db:
        latest = conversations.latest_conversation(db)
        assert latest is not None
        return [(m.role, m.content)
                for m in conversations.get_conversation(db, latest.id).messages]


def test_chat_answers_each_line_from_stdin(first_chat: FirstChat) -> None:
    assert "You said: hello" in first_chat.output
    assert "You said: second line" in first_chat.output
    assert stored_messages(first_chat.home) == [
        ("user", "hello"), ("assistant", "You said: hello"),
        ("user", "second line"), ("assistant", "You said: second line"),
    ]


def test_list_shows_the_conversation_by_its_title(first_chat: FirstChat) -> None:
    listing = ok(hearth_chat(first_chat.home, "--list"))

    assert "hello" in listing
    assert "conv_" in listing


def test_continue_resumes_the_last_conversation(first_chat: FirstChat, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(first_chat.home, home)

    output = ok(hearth_chat(home, "--continue", stdin="more\n"))

    assert "You said: more" in output
    assert "(4 messages)" in output
    assert stored_messages(home) == [
        ("user", "hello"), ("assistant", "You said: hello"),
        ("user", "second line"), ("assistant", "You said: second line"),
        ("user", "more"), ("assistant", "You said: more"),
    ]
    with opened(home) as db:
        assert len(conversations.list_conversations(db)) == 1


def test_continue_without_any_conversation_says_how_to_start_one(tmp_path: Path) -> None:
    result = hearth_chat(tmp_path / "home", "--continue", stdin="more\n")

    assert result.returncode == 1
    assert "no conversation to continue" in result.stderr
    assert "Traceback" not in result.stderr


def test_chat_with_url_talks_to_a_running_server(
    serve: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = serve(env=FAKE_ENV)

    output = ok(hearth_chat(tmp_path / "client-home", "--url", server.root,
                            stdin="hi over http\n"))

    assert "You said: hi over http" in output
    [listed] = httpx.get(f"{server.base_url}/conversations").json()["data"]
    assert listed["title"] == "hi over http"
    conversation = httpx.get(f"{server.base_url}/conversations/{listed['id']}").json()
    assert [(m["role"], m["content"]) for m in conversation["messages"]] == [
        ("user", "hi over http"), ("assistant", "You said: hi over http"),
    ]
    assert not (tmp_path / "client-home" / "hearth.db").exists()  # stored by the server only
