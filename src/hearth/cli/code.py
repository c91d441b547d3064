"""``hearth code``: the local coding agent in a terminal.

``hearth code exec "TASK"`` works on a task and exits (``--json``: one event per line, for
scripts); ``hearth code`` is the interactive session (a task per line, ``/diff``, ``/undo``,
``/quit``); ``hearth code resume`` goes on with a saved session. The agent itself
(``hearth.agent``) is a client of any OpenAI-compatible server: ``--url``, else ``HEARTH_URL``,
else a hearth server on 127.0.0.1:8080, else one this command starts for the session and stops
after it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import httpx
import typer
from rich.console import Console
from rich.syntax import Syntax

from hearth.agent.approval import ApprovalPolicy
from hearth.agent.events import Emit, Event, json_lines
from hearth.agent.git import GitWorkspace
from hearth.agent.instructions import git_root, system_prompt, task_message
from hearth.agent.memory import CodingMemory
from hearth.agent.model import OpenAIModel
from hearth.agent.saved import SavedSession, SessionFolder
from hearth.agent.session import Limits, Outcome, Session
from hearth.agent.tools import Proposal, SandboxMode, Toolbox
from hearth.bench.engine import free_port, running_server
from hearth.cli.common import api_base, fail, login_name, one_line_errors, settings_with

app = typer.Typer(help="A local coding agent: reads, edits and runs code in a sandbox.",
                  no_args_is_help=False, invoke_without_command=True)
console = Console()
LOCAL_URL = "http://127.0.0.1:8080"

Url = Annotated[Optional[str], typer.Option(help="OpenAI-compatible server (default: "
                                            "HEARTH_URL, a local hearth, or one started now).")]
ModelName = Annotated[Optional[str], typer.Option(help="Model id (default: the server's first).")]
ApiKey = Annotated[Optional[str], typer.Option(envvar="HEARTH_API_KEY", help="API key.")]
Folder = Annotated[Path, typer.Option("--cd", help="The repository to work in.")]
Sandbox = Annotated[SandboxMode, typer.Option(help="What shell commands may touch.")]
Approval = Annotated[ApprovalPolicy, typer.Option(help="When to ask before acting.")]
Steps = Annotated[int, typer.Option(min=1, help="Most model steps per task.")]
Seconds = Annotated[float, typer.Option(min=1, help="Most seconds per task.")]
Commit = Annotated[bool, typer.Option(help="Commit each change with a message.")]
Context = Annotated[int, typer.Option(min=1024, help="The model's context, in tokens.")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON event per line.")]
User = Annotated[Optional[str], typer.Option(help="Whose memory (default: your login name).")]
Remembers = Annotated[bool, typer.Option("--memory/--no-memory",
                                         help="Keep standing instructions in hearth's memory.")]


def sessions_folder() -> SessionFolder:
    return SessionFolder(settings_with().home / "code" / "sessions")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url.rstrip("/") + "/v1/models", timeout=2.0).status_code < 500
    except httpx.HTTPError:
        return False


@contextmanager
def model_server(url: str | None) -> Iterator[str]:
    """The base URL (ending in /v1) of the server to use, starting hearth's own if needed."""
    url = url or os.environ.get("HEARTH_URL")
    if url or _answers(LOCAL_URL):
        yield api_base(url or LOCAL_URL)
        return
    settings = settings_with()
    port = free_port()
    argv = [str(Path(sys.executable).with_name("hearth")), "serve", "--host", "127.0.0.1",
            "--port", str(port)]
    console.print(f"[dim]No server at {LOCAL_URL}: starting hearth serve "
                  f"({settings.model or 'the default model'}) for this session...[/]",
                  highlight=False)
    with running_server(argv, port, "/healthz") as base:
        yield base + "/v1"


def show(event: Event) -> None:
    """An event as a person reads it in the terminal."""
    data = event.data
    if event.type == "tool.call":
        console.print(f"[cyan]→ {data['summary']}[/]", highlight=False)
        if data.get("diff"):
            console.print(Syntax(data["diff"], "diff", background_color="default"))
    elif event.type == "tool.result":
        first = (data["output"].strip().splitlines() or [""])[0][:160]
        mark = "[green]✓[/]" if data["ok"] else "[red]✗[/]"
        console.print(f"  {mark} [dim]{first}[/]", highlight=False)
    elif event.type == "format.error":
        console.print(f"  [yellow]! the model's reply had {data['problem']}[/]", highlight=False)
    elif event.type == "context.compacted":
        console.print(f"[yellow]context nearly full: dropped {data['dropped_results']} old tool "
                      "results[/]", highlight=False)
    elif event.type == "session.ended":
        colour = "green" if data["status"] == "done" else "yellow"
        console.print(f"[{colour}]{data['status']}[/]: {data['summary']}", highlight=False)


def ask_on_terminal(proposal: Proposal) -> bool:
    return typer.confirm(f"Allow: {proposal.summary}?", default=False)


class Runner:
    """One working folder, one model, one toolbox: runs tasks and keeps the session saved."""

    def __init__(self, folder: Path, base_url: str, model: str | None, api_key: str | None, *,
                 sandbox: SandboxMode, approval: ApprovalPolicy, limits: Limits, commit: bool,
                 emit: Emit, interactive: bool, user: str | None, remembers: bool,
                 saved: SavedSession | None = None):
        cwd = folder.resolve()
        if not cwd.is_dir():
            fail(f"{folder} is not a folder.")
        in_git = git_root(cwd)
        root = self.root = in_git or cwd
        if commit and in_git is None:
            fail(f"--commit needs a git repository, and {root} is not one (run `git init`).")
        if approval is not ApprovalPolicy.NEVER and not interactive and not sys.stdin.isatty():
            fail(f"--approval {approval} asks before acting, and there is no terminal to ask "
                 "on: use --approval never with a sandbox, or run it in a terminal.")
        self.model = OpenAIModel(base_url, model, api_key)
        self.memory = CodingMemory(base_url, user or login_name(), api_key) if remembers \
            else None
        self.folders = sessions_folder()
        messages = saved.messages if saved else [{"role": "system", "content": system_prompt(
            root, cwd, extra=self.memory.prompt() if self.memory else "")}]
        self.saved = saved or SavedSession.new(root, self.model.model, messages)

        def emit_and_keep(event: Event) -> None:
            self.saved.events.append({"type": event.type, "at": event.at, **event.data})
            emit(event)

        self.session = Session(
            self.model, Toolbox(root, sandbox), self.saved.messages, emit_and_keep, limits,
            approval, ask_on_terminal, GitWorkspace(root) if in_git else None,
            commit, on_step=lambda _session: self.folders.save(self.saved), memory=self.memory)
        emit(Event("session.started", {"session": self.saved.id, "root": str(root),
                                       "model": self.model.model, "sandbox": str(sandbox),
                                       "approval": str(approval)}))

    def run(self, task: str) -> Outcome:
        try:
            return self.session.run(task_message(self.root, task))
        finally:
            self.folders.save(self.saved)


def _runner(folder: Path, url: str, model: str | None, api_key: str | None, sandbox: SandboxMode,
            approval: ApprovalPolicy, max_steps: int, max_seconds: float, context_tokens: int,
            commit: bool, as_json: bool, interactive: bool, user: str | None, remembers: bool,
            saved: SavedSession | None = None) -> Runner:
    return Runner(folder, url, model, api_key, sandbox=sandbox, approval=approval,
                  limits=Limits(max_steps, max_seconds, context_tokens), commit=commit,
                  emit=json_lines(sys.stdout) if as_json else show, interactive=interactive,
                  user=user, remembers=remembers, saved=saved)


@app.command("exec")
def exec_task(task: Annotated[str, typer.Argument(help="What to do.")],
              url: Url = None, model: ModelName = None, api_key: ApiKey = None,
              folder: Folder = Path("."), sandbox: Sandbox = SandboxMode.WORKSPACE_WRITE,
              approval: Approval = ApprovalPolicy.NEVER, max_steps: Steps = 30,
              max_seconds: Seconds = 900.0, context_tokens: Context = 32_768,
              commit: Commit = False, as_json: AsJson = False, user: User = None,
              remembers: Remembers = True) -> None:
    """Work on TASK without asking anything, then exit: 0 if the agent finished it."""
    with one_line_errors(), model_server(url) as base:
        runner = _runner(folder, base, model, api_key, sandbox, approval, max_steps,
                         max_seconds, context_tokens, commit, as_json, False, user, remembers)
        outcome = runner.run(task)
    raise typer.Exit(0 if outcome.status == "done" else 1)


def interact(runner: Runner) -> None:
    """Tasks from the terminal, one per line, until /quit or end of input."""
    console.print("[bold]hearth code[/] — a task per line; /diff, /undo, /remember TEXT, /quit.",
                  highlight=False)
    git = runner.session.git
    while True:
        try:
            line = console.input("[bold cyan]› [/]").strip()
        except EOFError:
            return
        if line in ("/quit", "/exit"):
            return
        if line == "/diff":
            diff = git.diff() if git else ""
            console.print(Syntax(diff, "diff") if diff else "[dim]No changes yet.[/]")
        elif line == "/undo":
            change = git.undo() if git else None
            console.print(f"Undid the change to {', '.join(change.files)}." if change else
                          "[dim]Nothing to undo.[/]", highlight=False)
        elif line.startswith("/remember "):
            if runner.memory is None:
                console.print("[dim]Memory is off (--no-memory).[/]")
            else:
                runner.memory.remember(line.removeprefix("/remember ").strip())
                console.print("Remembered for later sessions.")
        elif line:
            runner.run(line)


@app.callback()
def interactive(context: typer.Context, url: Url = None, model: ModelName = None,
                api_key: ApiKey = None, folder: Folder = Path("."),
                sandbox: Sandbox = SandboxMode.WORKSPACE_WRITE,
                approval: Approval = ApprovalPolicy.ON_REQUEST, max_steps: Steps = 30,
                max_seconds: Seconds = 900.0, context_tokens: Context = 32_768,
                commit: Commit = False, user: User = None, remembers: Remembers = True) -> None:
    """The interactive agent: give it tasks one after another in the same session."""
    if context.invoked_subcommand is not None:
        return
    with one_line_errors(), model_server(url) as base:
        interact(_runner(folder, base, model, api_key, sandbox, approval, max_steps, max_seconds,
                         context_tokens, commit, False, True, user, remembers))


@app.command("resume")
def resume(session_id: Annotated[Optional[str], typer.Argument(help="Default: the latest.")] = None,
           url: Url = None, api_key: ApiKey = None, folder: Folder = Path("."),
           sandbox: Sandbox = SandboxMode.WORKSPACE_WRITE,
           approval: Approval = ApprovalPolicy.ON_REQUEST, max_steps: Steps = 30,
           max_seconds: Seconds = 900.0, context_tokens: Context = 32_768,
           commit: Commit = False, user: User = None, remembers: Remembers = True) -> None:
    """Go on with a saved session (the latest for this folder unless one is named)."""
    with one_line_errors():
        saved = sessions_folder().load(session_id,
                                       root=None if session_id else (git_root(folder) or folder))
        with model_server(url) as base:
            runner = _runner(Path(saved.root), base, saved.model, api_key, sandbox, approval,
                             max_steps, max_seconds, context_tokens, commit, False, True, user,
                             remembers, saved=saved)
            console.print(f"Resumed {saved.id}: {len(saved.messages)} messages.", highlight=False)
            interact(runner)


@app.command("sessions")
def sessions(as_json: AsJson = False) -> None:
    """Saved sessions, the latest first."""
    found = sessions_folder().list()
    if as_json:
        print(json.dumps([{"id": s.id, "root": s.root, "model": s.model,
                           "messages": len(s.messages), "updated_at": s.updated_at}
                          for s in found]))
        return
    for s in found:
        console.print(f"{s.id}  {s.root}  {len(s.messages)} messages", highlight=False)
