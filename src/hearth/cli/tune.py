"""``hearth tune``: fine-tune a model on your own chat examples, through a running server.

A client of the server's OpenAI-compatible API (``/v1/files``, ``/v1/fine_tuning/jobs``) with
the ``openai`` SDK, like any other client: ``--url`` (or ``HEARTH_URL``; a local hearth on
port 8080 by default) and ``--api-key`` (or ``HEARTH_API_KEY``). Training runs in the server's
worker process; ``create`` follows it with a progress bar drawn from the job's events.

``create --from-conversations`` builds the training file from the conversations stored in this
machine's hearth database (``HEARTH_HOME`` or ``HEARTH_DATABASE_URL``, as ``hearth admin``
reads it): an operator's command, run beside the server. It says how many examples it made and
shows the first before anything is uploaded, and asks unless ``--yes``.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import openai
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn

from hearth.cli.common import api_base, fail, one_line_errors, stderr
from hearth.cli.listing import AsJson, print_listing
from hearth.config import DEFAULT_CHAT_MODEL, Settings
from hearth.governance.principal import LOCAL_ORG
from hearth.store.db import Database
from hearth.tune.conversations import ConversationData, from_conversations
from hearth.tune.data import InvalidTrainingFile, validate
from hearth.tune.files import FINE_TUNE_PURPOSE

app = typer.Typer(help="Fine-tune a model on your own chat examples (JSONL), on a running "
                       "hearth server.", no_args_is_help=True)

LOCAL_URL = "http://127.0.0.1:8080"
FINISHED = ("succeeded", "failed", "cancelled")
POLL_SECONDS = 1.0

Url = Annotated[str, typer.Option(envvar="HEARTH_URL", help="The hearth server.")]
ApiKey = Annotated[Optional[str], typer.Option(envvar="HEARTH_API_KEY", help="API key.")]
JobId = Annotated[str, typer.Argument(help="The job's id (ftjob-…).")]


def _client(url: str, api_key: str | None) -> openai.OpenAI:
    return openai.OpenAI(base_url=api_base(url), api_key=api_key or "local", max_retries=0,
                         timeout=60)


@contextmanager
def _answers(url: str) -> Iterator[None]:
    """The server's refusals and an unreachable server as one line each, never a traceback."""
    try:
        yield
    except openai.APIStatusError as error:
        body = error.body if isinstance(error.body, dict) else {}
        fail(str(body.get("message") or error.message))
    except openai.APIConnectionError:
        fail(f"Cannot reach hearth at {url}: start it with `hearth serve`, or give --url.")


def _checked_locally(path: Path) -> None:
    """Check the file here first, so its problems are listed one per line before any upload."""
    if not path.is_file():
        fail(f"{path} is not a file: give a JSONL file of chat examples.")
    try:
        validate(path)
    except InvalidTrainingFile as bad:
        stderr.print(f"[bold red]error:[/] {escape(str(path))} has {bad.count} "
                     f"problem{'s' * (bad.count != 1)}:", highlight=False)
        for problem in bad.errors:
            stderr.print(f"  {escape(str(problem))}", highlight=False, soft_wrap=True)
        if bad.count > len(bad.errors):
            stderr.print(f"  … and {bad.count - len(bad.errors)} more", highlight=False)
        raise typer.Exit(1) from None


def _upload(client: openai.OpenAI, path: Path) -> str:
    _checked_locally(path)
    with path.open("rb") as data:
        uploaded = client.files.create(file=data, purpose=FINE_TUNE_PURPOSE)
    stderr.print(f"Uploaded {escape(path.name)} as {uploaded.id}", highlight=False)
    return uploaded.id


EVERY_USER = "*"


def _conversation_data(user: str, org: str, system_prompt: str | None) -> ConversationData:
    with one_line_errors():
        db = Database.from_settings(Settings())
        db.migrate()
        return from_conversations(db, org, None if user == EVERY_USER else user,
                                  system_prompt=system_prompt)


def _show(data: ConversationData, user: str, org: str) -> None:
    """What will be uploaded: how many examples, whose, and the first few as written."""
    whose = "every user" if user == EVERY_USER else f"user {user!r}"
    stderr.print(f"{data.count} example{'s' * (data.count != 1)} from the conversations of "
                 f"{escape(whose)} in org {escape(org)!r}"
                 + (f" ({data.skipped} conversation{'s' * (data.skipped != 1)} with no "
                    "answer left out)" if data.skipped else ""), highlight=False)
    if user == EVERY_USER:
        for owner, count in sorted(data.per_user.items()):
            stderr.print(f"  {escape(owner)}: {count}", highlight=False)
    for number, example in enumerate(data.preview(), 1):
        stderr.print(f"example {number}:", highlight=False)
        for message in example["messages"]:
            text = " ".join(message["content"].split())
            stderr.print(f"  {message['role']}: {escape(text[:200])}"
                         + ("…" if len(text) > 200 else ""), highlight=False)


def _agreed(question: str) -> bool:
    """A yes to ``question``; a closed or interrupted terminal answers no."""
    try:
        return typer.confirm(question, err=True)
    except typer.Abort:
        return False


@app.command()
def create(
    data: Annotated[Optional[Path], typer.Option(
        help='Training examples: JSONL, one {"messages": [...]} per line.')] = None,
    from_user: Annotated[Optional[str], typer.Option(
        "--from-conversations", metavar="USER",
        help="Train on USER's stored conversations instead of --data ('*': every user of "
             "the org), read from this machine's hearth database.")] = None,
    org: Annotated[str, typer.Option(envvar="HEARTH_ORG",
                                     help="The org whose conversations to read.")] = LOCAL_ORG,
    system_prompt: Annotated[Optional[str], typer.Option(
        help="With --from-conversations: a system message to put first in every example.")]
        = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before uploading "
                                                         "conversations.")] = False,
    base: Annotated[str, typer.Option(help="The model to tune (pulled on the server).")] = \
        DEFAULT_CHAT_MODEL,
    name: Annotated[Optional[str], typer.Option(
        help="A suffix for the tuned model's name (ft:BASE:ORG:NAME:ID).")] = None,
    validation: Annotated[Optional[Path], typer.Option(
        help="Held-out examples: their loss is reported before and after training.")] = None,
    epochs: Annotated[Optional[int], typer.Option(min=1, max=100,
                                                  help="Passes over the data.")] = None,
    follow: Annotated[bool, typer.Option(help="Follow the job until it ends.")] = True,
    url: Url = LOCAL_URL,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Upload the examples (a file, or stored conversations), start a fine-tuning job and
    follow it to the end."""
    if (data is None) == (from_user is None):
        fail("Give the examples either as --data FILE.jsonl or with --from-conversations USER.")
    if system_prompt is not None and from_user is None:
        fail("--system-prompt goes with --from-conversations (a file holds its own).")
    with tempfile.TemporaryDirectory(prefix="hearth-tune-") as scratch:
        if from_user is not None:
            built = _conversation_data(from_user, org, system_prompt)
            _show(built, from_user, org)
            if not yes and not _agreed(f"Upload these {built.count} examples and train?"):
                fail("Nothing was uploaded.")
            data = built.write(Path(scratch) / "conversations.jsonl")
        assert data is not None
        _start(data, base, name, validation, epochs, follow, url, api_key, as_json)


def _start(data: Path, base: str, name: str | None, validation: Path | None,
           epochs: int | None, follow: bool, url: str, api_key: str | None,
           as_json: bool) -> None:
    client = _client(url, api_key)
    with _answers(url):
        training = _upload(client, data)
        checked = _upload(client, validation) if validation else None
        settings = {"n_epochs": epochs} if epochs else {}
        job = client.fine_tuning.jobs.create(
            model=base, training_file=training, validation_file=checked, suffix=name,
            method={"type": "supervised", "supervised": {"hyperparameters": settings}})
        stderr.print(f"Started {job.id} on {escape(base)}", highlight=False)
        if follow:
            job = _follow(client, job.id, quiet=as_json)
    if as_json:
        typer.echo(job.model_dump_json())
    elif not follow:
        typer.echo(job.id)
    if follow and job.status != "succeeded":
        raise typer.Exit(1)


def _follow(client: openai.OpenAI, job_id: str, *, quiet: bool = False) -> Any:
    """Show the job's events as they come, training steps as a progress bar, until it ends."""
    seen: set[str] = set()
    columns = (TextColumn("step {task.fields[steps]}"), BarColumn(),
               TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[speed]} tok/s"),
               TextColumn("{task.fields[left]} left"))
    with Progress(*columns, console=Console(stderr=True), disable=quiet) as bar:
        task = bar.add_task("training", total=None, steps="-", loss="-", speed="-", left="-")
        while True:
            job = client.fine_tuning.jobs.retrieve(job_id)
            fresh = [event for event in client.fine_tuning.jobs.list_events(job_id, limit=100)
                     .data if event.id not in seen]
            for event in reversed(fresh):  # listed newest first
                seen.add(event.id)
                figures = event.data if isinstance(event.data, dict) else {}
                if "step" in figures:
                    bar.update(task, completed=figures["step"], total=figures["total_steps"],
                               steps=f"{figures['step']}/{figures['total_steps']}",
                               loss=f"{figures['train_loss']:.4f}",
                               speed=f"{figures.get('tokens_per_second', 0):.0f}",
                               left=_duration(figures.get("seconds_left", 0)))
                elif not quiet:
                    bar.console.print(escape(event.message), highlight=False, soft_wrap=True)
            if job.status in FINISHED:
                break
            time.sleep(POLL_SECONDS)
    if not quiet:
        _say_how_it_ended(job)
    return job


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _say_how_it_ended(job: Any) -> None:
    if job.status == "succeeded":
        stderr.print(f"[bold green]succeeded:[/] {escape(job.fine_tuned_model)}",
                     highlight=False)
    elif job.status == "failed":
        stderr.print(f"[bold red]failed:[/] {escape(job.error.message if job.error else '')}",
                     highlight=False, soft_wrap=True)
    else:
        stderr.print(f"{job.id} was {job.status}", highlight=False)


def _when(unix: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(unix)) if unix else ""


@app.command("list")
def list_jobs(limit: Annotated[int, typer.Option(min=1, max=100)] = 20, url: Url = LOCAL_URL,
              api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Your organisation's fine-tuning jobs, newest first."""
    with _answers(url):
        jobs = _client(url, api_key).fine_tuning.jobs.list(limit=limit).data
    if not jobs and not as_json:
        Console().print("No fine-tuning jobs yet: start one with `hearth tune create`.",
                        highlight=False)
        return
    print_listing(("job", "status", "base", "tuned model", "created"),
                  [(job.id, job.status, job.model, job.fine_tuned_model or "",
                    _when(job.created_at)) for job in jobs], jobs, as_json=as_json)


@app.command()
def show(job_id: JobId, url: Url = LOCAL_URL, api_key: ApiKey = None,
         as_json: AsJson = False) -> None:
    """One job: where it stands, its settings, and its error if it failed."""
    with _answers(url):
        job = _client(url, api_key).fine_tuning.jobs.retrieve(job_id)
    if as_json:
        typer.echo(job.model_dump_json())
        return
    settings = job.hyperparameters
    lines = {"job": job.id, "status": job.status, "base": job.model,
             "tuned model": job.fine_tuned_model, "training file": job.training_file,
             "validation file": job.validation_file, "epochs": settings.n_epochs,
             "learning rate multiplier": settings.learning_rate_multiplier,
             "trained tokens": job.trained_tokens, "created": _when(job.created_at),
             "finished": _when(job.finished_at),
             "error": job.error.message if job.error else None}
    for label, value in lines.items():
        if value not in (None, ""):
            typer.echo(f"{label}: {value}")


@app.command()
def cancel(job_id: JobId, url: Url = LOCAL_URL, api_key: ApiKey = None,
           as_json: AsJson = False) -> None:
    """Cancel a job: a queued one at once, a running one after its current step."""
    with _answers(url):
        job = _client(url, api_key).fine_tuning.jobs.cancel(job_id)
    typer.echo(job.model_dump_json() if as_json else
               f"{job.id}: {'cancelled' if job.status == 'cancelled' else 'cancelling'}")


@app.command()
def logs(job_id: JobId, limit: Annotated[int, typer.Option(min=1, max=100)] = 100,
         url: Url = LOCAL_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """A job's events, oldest first (its newest ``--limit``)."""
    with _answers(url):
        events = list(reversed(_client(url, api_key).fine_tuning.jobs.list_events(
            job_id, limit=limit).data))
    if as_json:
        for event in events:
            typer.echo(json.dumps(event.model_dump(mode="json")))
        return
    for event in events:
        typer.echo(f"{_when(event.created_at)}  {event.level:5}  {event.message}")
