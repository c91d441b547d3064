"""``hearth admin``: organisations, users, keys, plans, usage, the audit log and retention.

The commands work on the database directly (the one ``hearth serve`` uses) as the operator,
who may do everything; every change is on the audit log under the operator's name. The
same work is reachable over HTTP under ``/admin/v1``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from hearth.api.admin.protocol import AuditObject, KeyObject, OrgObject, PlanObject, UserObject
from hearth.cli.common import fail, one_line_errors, operator_actor
from hearth.cli.listing import AsJson, print_listing
from hearth.config import Settings
from hearth.governance import audit, retention, tenancy, usage
from hearth.governance.plans import parse_limits
from hearth.store.bounds import MAX_DAYS
from hearth.store.db import Database

app = typer.Typer(help="Manage orgs, users, API keys, plans, usage, audit and retention.",
                  no_args_is_help=True)
org_app = typer.Typer(help="Organisations.", no_args_is_help=True)
user_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
plan_app = typer.Typer(help="Plans and their limits.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
for sub, name in ((org_app, "org"), (user_app, "user"), (key_app, "key"), (plan_app, "plan"),
                  (audit_app, "audit")):
    app.add_typer(sub, name=name)

console = Console()


def _database() -> Database:
    db = Database.from_settings(Settings())
    db.migrate()
    return db


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def _days(value: int | None) -> str:
    return "for ever" if value is None else f"{value} days"


# --- org --------------------------------------------------------------------------------


@org_app.command("create")
def org_create(org: str, plan: Annotated[str, typer.Option(help="Plan name.")] = "free") -> None:
    """Create an organisation."""
    with one_line_errors():
        made = tenancy.create_org(_database(), operator_actor(), org, plan=plan)
    typer.echo(f"Created organisation {made.id!r} on the {made.plan!r} plan.")


@org_app.command("list")
def org_list(as_json: AsJson = False) -> None:
    """List organisations with their plan and retention."""
    with one_line_errors():
        orgs = tenancy.list_orgs(_database())
    print_listing(("org", "plan", "keep conversations", "keep memories", "created"),
                  [(org.id, org.plan, _days(org.conversation_retention_days),
                    _days(org.memory_retention_days), _when(org.created_at)) for org in orgs],
                  [OrgObject.of(org) for org in orgs], as_json=as_json)


@org_app.command("set")
def org_set(
    org: str,
    plan: Annotated[Optional[str], typer.Option(help="Move the org to this plan.")] = None,
    conversation_days: Annotated[Optional[int], typer.Option(
        min=0, max=MAX_DAYS,
        help="Keep conversations this many days (0: for ever).")] = None,
    memory_days: Annotated[Optional[int], typer.Option(
        min=0, max=MAX_DAYS, help="Keep memories this many days (0: for ever).")] = None,
) -> None:
    """Change an organisation's plan or retention."""
    changes: dict = {}
    if plan is not None:
        changes["plan"] = plan
    if conversation_days is not None:
        changes["conversation_retention_days"] = conversation_days or None
    if memory_days is not None:
        changes["memory_retention_days"] = memory_days or None
    if not changes:
        fail("Nothing to change: give --plan, --conversation-days or --memory-days.")
    with one_line_errors():
        made = tenancy.update_org(_database(), operator_actor(), org, changes)
    typer.echo(f"{made.id}: plan {made.plan}, conversations kept "
               f"{_days(made.conversation_retention_days)}, memories kept "
               f"{_days(made.memory_retention_days)}.")


# --- user -------------------------------------------------------------------------------


@user_app.command("create")
def user_create(
    org: str, user: str,
    role: Annotated[str, typer.Option(help="owner, admin, member or service.")] = "member",
    plan: Annotated[Optional[str], typer.Option(help="A plan of the user's own.")] = None,
) -> None:
    """Add a user to an organisation."""
    with one_line_errors():
        made = tenancy.create_user(_database(), operator_actor(), org, user, role=role,
                                   plan=plan)
    typer.echo(f"Created user {made.user_id!r} in {made.org_id!r} as {made.role}.")


@user_app.command("list")
def user_list(org: str, as_json: AsJson = False) -> None:
    """List an organisation's users."""
    with one_line_errors():
        users = tenancy.list_users(_database(), org)
    print_listing(("user", "role", "own plan", "password", "created"),
                  [(user.user_id, user.role, user.plan or "",
                    "set" if user.password_hash else "", _when(user.created_at))
                   for user in users],
                  [UserObject.of(user) for user in users], as_json=as_json)


@user_app.command("role")
def user_role(org: str, user: str, role: str) -> None:
    """Change a user's role."""
    with one_line_errors():
        made = tenancy.set_role(_database(), operator_actor(), org, user, role)
    typer.echo(f"{made.org_id}/{made.user_id} is now {made.role}.")


def _read_password() -> str:
    """Prompted for twice without echo at a terminal; the first line of stdin otherwise, so
    a script can pipe it in (never an argument: those show in ``ps`` and shell history)."""
    if sys.stdin.isatty():
        return typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("password")
def user_password(
    org: str, user: str,
    clear: Annotated[bool, typer.Option("--clear", help="Remove it: keys only.")] = False,
) -> None:
    """Set the password a user signs in to the web app with (or --clear it); their password
    sessions end."""
    password = None if clear else _read_password()
    with one_line_errors():
        made = tenancy.set_password(_database(), operator_actor(), org, user, password)
    typer.echo(f"{made.org_id}/{made.user_id} "
               f"{'signs in with a key only' if clear else 'has a new password'}.")


# --- key --------------------------------------------------------------------------------


@key_app.command("create")
def key_create(
    org: str, user: str,
    scopes: Annotated[Optional[str], typer.Option(
        help="Comma-separated: chat, memory:read, memory:write, admin (default: all the "
             "role allows).")] = None,
    expires_in_days: Annotated[Optional[float], typer.Option(
        min=0.0001, max=MAX_DAYS)] = None,
    name: Annotated[Optional[str], typer.Option(help="A label to tell keys apart.")] = None,
) -> None:
    """Create an API key. The key is printed once, alone on stdout; keep it safe."""
    expires = (datetime.now(UTC) + timedelta(days=expires_in_days)
               if expires_in_days is not None else None)
    with one_line_errors():
        made = tenancy.create_key(
            _database(), operator_actor(), org, user, expires_at=expires, name=name,
            scopes=[s.strip() for s in scopes.split(",") if s.strip()] if scopes else None)
    Console(stderr=True).print(
        f"Created key {made.key.id} ({made.key.prefix}…) for {org}/{user}, scopes "
        f"{', '.join(made.key.scopes)}{f', expires {_when(expires)} UTC' if expires else ''}. "
        "It is shown once:", highlight=False)
    typer.echo(made.secret)


@key_app.command("list")
def key_list(org: Annotated[Optional[str], typer.Argument()] = None,
             as_json: AsJson = False) -> None:
    """List keys (never their secrets)."""
    with one_line_errors():
        keys = tenancy.list_keys(_database(), org)
    print_listing(("id", "prefix", "org/user", "name", "scopes", "created", "expires", "revoked"),
                  [(key.id, key.prefix, f"{key.org_id}/{key.user_id}", key.name or "",
                    ",".join(key.scopes), _when(key.created_at), _when(key.expires_at),
                    _when(key.revoked_at)) for key in keys],
                  [KeyObject.of(key) for key in keys], as_json=as_json)


@key_app.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke a key: it stops working on its next request."""
    with one_line_errors():
        key = tenancy.revoke_key(_database(), operator_actor(), key_id)
    typer.echo(f"Revoked {key.id} ({key.prefix}…) of {key.org_id}/{key.user_id}.")


# --- plan -------------------------------------------------------------------------------


@plan_app.command("list")
def plan_list(as_json: AsJson = False) -> None:
    """Show plans and their limits (per key / user / org; '-' is unlimited)."""
    with one_line_errors():
        plans = tenancy.list_plans(_database())

    def cell(levels: dict) -> str:
        return " / ".join("-" if levels.get(k) is None else f"{levels[k]:,}"
                          for k in ("key", "user", "org"))

    print_listing(("plan", "priority", "requests/min", "tokens/day", "concurrent"),
                  [(plan.name, str(plan.priority), cell(plan.limits["requests_per_minute"]),
                    cell(plan.limits["tokens_per_day"]), cell(plan.limits["concurrent_streams"]))
                   for plan in plans],
                  [PlanObject.of(plan) for plan in plans], as_json=as_json)


@plan_app.command("set")
def plan_set(
    name: str,
    limits: Annotated[str, typer.Option(help='JSON, e.g. {"requests_per_minute": {"key": 60}}; '
                                              "unnamed limits are unlimited.")] = "{}",
    priority: Annotated[int, typer.Option(min=0, max=100)] = 0,
) -> None:
    """Create or replace a plan."""
    with one_line_errors():
        plan = tenancy.set_plan(_database(), operator_actor(), name, priority=priority,
                                limits=parse_limits(limits))
    typer.echo(f"Plan {plan.name!r} set (priority {plan.priority}).")


# --- usage, audit, purge ----------------------------------------------------------------


@app.command("usage")
def usage_report(
    group_by: Annotated[str, typer.Option(help="user, key, model or org.")] = "user",
    start: Annotated[Optional[str], typer.Option("--from", help="From (UTC, inclusive).")] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="To (UTC, exclusive).")] = None,
    org: Annotated[Optional[str], typer.Option(help="Only this org.")] = None,
    csv_file: Annotated[Optional[Path], typer.Option(
        "--csv", help="Write CSV here ('-': stdout).")] = None,
) -> None:
    """Requests, tokens, time and energy per user, key, model or org."""
    if group_by not in ("user", "key", "model", "org"):
        fail("--group-by must be user, key, model or org.")
    with one_line_errors():
        db = _database()
        rows = usage.report(db, group_by=group_by, org_id=org,  # type: ignore[arg-type]
                            start=usage.parse_time(start, "--from"),
                            end=usage.parse_time(end, "--to"))
        audit.record(db, actor=operator_actor(), action="usage.read", org_id=org,
                     target=org or "*", details={"group_by": group_by, "from": start, "to": end})
    if csv_file is not None:
        text = usage.to_csv(rows)
        if str(csv_file) == "-":
            sys.stdout.write(text)
        else:
            csv_file.write_text(text, encoding="utf-8")
            typer.echo(f"Wrote {len(rows)} rows to {csv_file}.")
        return
    table = Table(group_by, "requests", "prompt tok", "completion tok", "busy s", "energy J",
                  "mean TTFT ms")
    for row in rows:
        table.add_row(row.group, f"{row.requests:,}", f"{row.prompt_tokens:,}",
                      f"{row.completion_tokens:,}", f"{row.busy_seconds:,.1f}",
                      f"{row.energy_joules:,.1f}",
                      "" if row.mean_ttft_ms is None else f"{row.mean_ttft_ms:,.1f}")
    console.print(table)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit code 1 if any entry was edited or removed."""
    with one_line_errors():
        result = audit.verify(_database())
    if result.ok:
        typer.echo(f"Audit log intact: {result.length} entries, chain verified.")
        return
    for problem in result.problems:
        Console(stderr=True).print(f"[bold red]tampered:[/] {problem}", highlight=False)
    raise typer.Exit(1)


@audit_app.command("list")
def audit_list(limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
               org: Annotated[Optional[str], typer.Option(help="Only this org.")] = None,
               as_json: AsJson = False) -> None:
    """Show the newest audit entries."""
    with one_line_errors():
        entries = audit.entries(_database(), org_id=org, limit=limit)
    print_listing(("id", "at (UTC)", "actor", "action", "target", "details"),
                  [(str(e.id), _when(e.at), e.actor, e.action, e.target or "",
                    json.dumps(e.details)) for e in entries],
                  [AuditObject.of(e) for e in entries], as_json=as_json)


@app.command("purge")
def purge() -> None:
    """Delete conversations and memories past their org's retention, now."""
    with one_line_errors():
        done = retention.purge(_database(), actor=operator_actor())
    typer.echo(f"Purged {done.conversations} conversations and {done.memories} memories "
               f"({done.counters} spent counters, {done.leases} stale leases).")
    if done.failed:
        fail(f"The purge failed for {', '.join(map(repr, done.failed))} (the others were "
             "purged); the server log and `hearth admin audit list` say why.")
