"""Fine-tuning jobs and their events.

Revision ID: 0013
Revises: 0012

``tune_jobs``: one row per job, scoped by org and user; the worker finds its next job by
``status`` and age. ``tune_job_events``: a job's log, deleted with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tune_jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("base_path", sa.Text(), nullable=False),
        sa.Column("training_file", sa.String(255), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("hyperparameters", sa.JSON(), nullable=False),
        sa.Column("suffix", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("total_steps", sa.Integer(), nullable=True),
        sa.Column("loss", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("fine_tuned_model", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tune_jobs"),
    )
    op.create_index("ix_tune_jobs_org_id_created_at", "tune_jobs", ["org_id", "created_at"])
    op.create_index("ix_tune_jobs_status_created_at", "tune_jobs", ["status", "created_at"])
    op.create_table(
        "tune_job_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["tune_jobs.id"], ondelete="CASCADE",
                                name="fk_tune_job_events_job_id_tune_jobs"),
        sa.PrimaryKeyConstraint("id", name="pk_tune_job_events"),
    )
    op.create_index("ix_tune_job_events_job_id_id", "tune_job_events", ["job_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_tune_job_events_job_id_id", table_name="tune_job_events")
    op.drop_table("tune_job_events")
    op.drop_index("ix_tune_jobs_status_created_at", table_name="tune_jobs")
    op.drop_index("ix_tune_jobs_org_id_created_at", table_name="tune_jobs")
    op.drop_table("tune_jobs")
