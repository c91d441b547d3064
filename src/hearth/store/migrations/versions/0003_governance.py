"""Governance: plans, orgs, users, API keys, usage counters and records, the audit log.

Revision ID: 0003
Revises: 0002

Portable: the same operations run on SQLite and PostgreSQL. The three built-in plans and
the "local" org (the operator's own, where a single-user install lives) are seeded here so
that a fresh database is usable at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)
GENESIS_HASH = "0" * 64


def _limits(rpm: tuple, tokens_per_day: tuple, streams: tuple) -> dict:
    """Limits by kind, each per key, user and org; None means unlimited."""
    def levels(values: tuple) -> dict:
        return dict(zip(("key", "user", "org"), values, strict=True))

    return {"requests_per_minute": levels(rpm), "tokens_per_day": levels(tokens_per_day),
            "concurrent_streams": levels(streams)}


SEED_PLANS = [
    {"name": "free", "priority": 0,
     "limits": _limits((20, 20, 200), (50_000, 50_000, 1_000_000), (2, 2, 20))},
    {"name": "pro", "priority": 1,
     "limits": _limits((600, 600, 6_000), (2_000_000, 2_000_000, 50_000_000), (16, 16, 128))},
    {"name": "enterprise", "priority": 2,
     "limits": _limits((None, None, None), (None, None, None), (None, None, None))},
]


def upgrade() -> None:
    now = datetime.now(UTC)
    op.create_table(
        "plans",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_plans"),
    )
    orgs = op.create_table(
        "orgs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("plan", sa.String(32), nullable=False),
        sa.Column("conversation_retention_days", sa.Integer(), nullable=True),
        sa.Column("memory_retention_days", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["plan"], ["plans.name"], name="fk_orgs_plan_plans"),
        sa.PrimaryKeyConstraint("id", name="pk_orgs"),
    )
    op.create_table(
        "users",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("plan", sa.String(32), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE",
                                name="fk_users_org_id_orgs"),
        sa.ForeignKeyConstraint(["plan"], ["plans.name"], name="fk_users_plan_plans"),
        sa.PrimaryKeyConstraint("org_id", "user_id", name="pk_users"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_index("ix_api_keys_org_id_user_id", "api_keys", ["org_id", "user_id"])
    op.create_table(
        "usage_counters",
        sa.Column("subject", sa.String(160), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "metric", "window_start", name="pk_usage_counters"),
    )
    op.create_table(
        "stream_leases",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stream_leases"),
    )
    op.create_index("ix_stream_leases_org_id_expires_at", "stream_leases",
                    ["org_id", "expires_at"])
    op.create_table(
        "usage_records",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("route", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("energy_joules", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_usage_records"),
    )
    op.create_index("ix_usage_records_org_id_at", "usage_records", ["org_id", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("org_id", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    # Limits go in as a literal of JSON text: PostgreSQL reads an untyped string literal as
    # json, SQLite stores it as is, and offline SQL renders it (a bound JSON value fails on
    # PostgreSQL, being sent as varchar, and cannot be rendered offline).
    plans = sa.table("plans", sa.column("name", sa.String), sa.column("priority", sa.Integer),
                     sa.column("limits"), sa.column("updated_at", WHEN))
    for plan in SEED_PLANS:
        op.execute(plans.insert().values(
            name=plan["name"], priority=plan["priority"],
            limits=sa.literal_column(f"'{json.dumps(plan['limits'])}'"),
            updated_at=sa.func.current_timestamp()))
    op.bulk_insert(orgs, [{"id": "local", "plan": "enterprise", "created_at": now}])
    op.bulk_insert(head, [{"id": 1, "length": 0, "hash": GENESIS_HASH}])


def downgrade() -> None:
    for table in ("audit_head", "audit_log", "usage_records", "stream_leases",
                  "usage_counters", "api_keys", "users", "orgs", "plans"):
        op.drop_table(table)
