"""``hearth chat``: talk to the model from a terminal, with history that persists.

It talks to a running server (``--url``) or loads the engine in-process; either way every
turn is stored as a conversation, so ``--continue`` picks up where the last chat stopped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Optional, Protocol

import httpx
import typer
from openai import APIError, AsyncOpenAI
from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.table import Table

from hearth.cli.common import api_base, fail, one_line_errors, settings_with
from hearth.config import Settings

console = Console()


class ChatBackend(Protocol):
    model_id: str

    async def conversations(self, limit: int) -> list[dict[str, Any]]: ...

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]: ...

    def stream(self, messages: list[dict[str, Any]], conversation_id: str) -> AsyncIterator[str]:
        ...


class RemoteBackend:
    """A running ``hearth serve`` (or any server with hearth's conversation routes)."""

    def __init__(self, url: str, api_key: str | None, model: str | None, user: str):
        base = api_base(url)
        self._client = AsyncOpenAI(base_url=base, api_key=api_key or "local")
        self._http = httpx.AsyncClient(base_url=base, timeout=30,
                                       headers={"Authorization": f"Bearer {api_key or 'local'}",
                                                "X-Hearth-User": user})
        self.model_id = model or ""
        self.user = user

    async def connect(self) -> None:
        try:
            models = await self._client.models.list()
        except Exception as exc:
            raise ConnectionError(f"Cannot reach the server at {self._http.base_url}: {exc}")
        self.model_id = self.model_id or models.data[0].id

    async def conversations(self, limit: int) -> list[dict[str, Any]]:
        reply = await self._http.get("/conversations", params={"limit": limit})
        reply.raise_for_status()
        return reply.json()["data"]

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        reply = await self._http.get(f"/conversations/{conversation_id}")
        reply.raise_for_status()
        return reply.json()["messages"]

    async def stream(self, messages: list[dict[str, Any]],
                     conversation_id: str) -> AsyncIterator[str]:
        chunks = await self._client.chat.completions.create(
            model=self.model_id, messages=messages, stream=True,  # type: ignore[arg-type]
            metadata={"conversation": conversation_id}, user=self.user,
        )
        async for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


class LocalBackend:
    """The engine loaded in this process, storing turns in the local database."""

    def __init__(self, settings: Settings, user: str):
        from hearth.assistant.turn import Assistant
        from hearth.engines.registry import create_engine
        from hearth.memory.llm_extract import configured_extractor
        from hearth.memory.service import MemoryService
        from hearth.memory.worker import MemoryWorker
        from hearth.store.db import Database
        from hearth.store.owner import Owner

        db = Database.from_settings(settings)
        db.migrate()
        engine = create_engine(settings)
        extractor, self._completer = configured_extractor(settings, engine)
        memory = MemoryService(db, extractor=extractor) if settings.memory else None
        self.worker = MemoryWorker(memory) if memory else None
        if self.worker:
            self.worker.start()
        self._assistant = Assistant(engine, db, memory, self.worker)
        self._owner = Owner("local", user)
        self.model_id = self._assistant.engine.model_id

    def close(self) -> None:
        """Let the memory worker finish what this chat queued, then stop it."""
        if self.worker:
            self.worker.wait_idle(timeout=120)
            self.worker.stop()

    async def conversations(self, limit: int) -> list[dict[str, Any]]:
        from hearth.store import conversations

        views = conversations.list_conversations(self._assistant.db, limit=limit,
                                                 user_id=self._owner.user_id)
        return [{"id": v.id, "title": v.title, "updated_at": v.updated_at.timestamp()}
                for v in views]

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        from hearth.store import conversations

        view = conversations.get_conversation(self._assistant.db, conversation_id,
                                              user_id=self._owner.user_id)
        return [{"role": m.role, "content": m.content} for m in view.messages]

    async def stream(self, messages: list[dict[str, Any]],
                     conversation_id: str) -> AsyncIterator[str]:
        from hearth.engines.base import ChatRequest

        if self._completer:  # the memory worker asks the engine on this loop
            self._completer.bind(asyncio.get_running_loop())
        async for delta in self._assistant.respond(
                ChatRequest(messages=messages), conversation_id=conversation_id,
                owner=self._owner, remember=self.worker is not None):
            if delta.content:
                yield delta.content


def _new_conversation_id() -> str:
    return f"conv_{uuid.uuid4().hex}"


async def _show_list(backend: ChatBackend) -> None:
    table = Table("id", "title", "updated")
    for conv in await backend.conversations(50):
        when = dt.datetime.fromtimestamp(float(conv["updated_at"])).strftime("%Y-%m-%d %H:%M")
        table.add_row(conv["id"], conv.get("title") or "", when)
    console.print(table)


async def _reply(backend: ChatBackend, history: list[dict[str, Any]], conversation_id: str) -> str:
    text = ""
    if not console.is_terminal:  # piped: plain text, one answer per line
        async for piece in backend.stream(history, conversation_id):
            text += piece
            console.out(piece, end="", highlight=False)
        console.out("")
        return text
    with Live(Markdown(""), console=console, refresh_per_second=12,
              vertical_overflow="visible") as live:
        async for piece in backend.stream(history, conversation_id):
            text += piece
            live.update(Markdown(text))
    return text


async def _session(backend: ChatBackend, resume: bool, system: str | None) -> None:
    conversation_id = _new_conversation_id()
    history: list[dict[str, Any]] = []
    if resume:
        recent = await backend.conversations(1)
        if not recent:
            fail("There is no conversation to continue yet; start one with `hearth chat`.")
        conversation_id = recent[0]["id"]
        history = [m for m in await backend.messages(conversation_id) if m["content"]]
        console.print(f"[dim]continuing {conversation_id} ({len(history)} messages)[/]")
        for message in history[-4:]:
            who = "you" if message["role"] == "user" else backend.model_id
            console.print(f"[bold]{who}:[/] {message['content']}", highlight=False)
    elif system:
        history.append({"role": "system", "content": system})
    interactive = sys.stdin.isatty()
    if interactive:
        console.print(f"[dim]chatting with {backend.model_id}; /exit or Ctrl-D to leave[/]")
    while True:
        try:
            # Read in a thread: the event loop keeps serving the memory worker meanwhile.
            line = await asyncio.to_thread(
                console.input, "[bold green]you>[/] ") if interactive \
                else await asyncio.to_thread(input)
        except EOFError:
            break
        if line.strip() in {"/exit", "/quit"}:
            break
        if not line.strip():
            continue
        history.append({"role": "user", "content": line})
        history.append({"role": "assistant", "content": await _reply(backend, history,
                                                                     conversation_id)})


def chat(
    url: Annotated[Optional[str], typer.Option(help="Server to talk to; default: in-process.")] = None,
    api_key: Annotated[Optional[str], typer.Option(envvar="HEARTH_API_KEY",
                                                   help="API key for --url.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Catalog id or GGUF path.")] = None,
    resume: Annotated[bool, typer.Option("--continue", help="Resume the last conversation.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List conversations and exit.")] = False,
    system: Annotated[Optional[str], typer.Option(help="System prompt for a new chat.")] = None,
    user: Annotated[str, typer.Option(envvar="HEARTH_USER",
                                      help="Whose chat this is (memories are per user).")] = "local",
) -> None:
    """Chat in the terminal; answers stream as rendered markdown."""
    with one_line_errors():
        with asyncio.Runner() as runner:
            backend: ChatBackend
            if url:
                remote = RemoteBackend(url, api_key, model, user)
                try:
                    runner.run(remote.connect())
                except ConnectionError as exc:
                    fail(str(exc))
                backend = remote
            else:
                backend = LocalBackend(settings_with(model=model), user)
            try:
                if list_:
                    runner.run(_show_list(backend))
                else:
                    runner.run(_session(backend, resume, system))
            except (APIError, httpx.HTTPError) as exc:
                fail(f"The server refused the request: {getattr(exc, 'message', exc)}")
            finally:
                if isinstance(backend, LocalBackend):  # on the loop, which extraction may use
                    runner.run(asyncio.to_thread(backend.close))
