"""Uploaded files, what a fine-tuning job needs beyond 0013, and the plans that may fine-tune.

Revision ID: 0014
Revises: 0013

``files``: one row per upload (``/v1/files``), scoped by org; its bytes live in the data
folder at ``path``. ``tune_jobs`` gains ``attempts`` (how many workers took the job: one that
crashed its worker is retried a few times, then failed), ``validation_file``,
``trained_tokens``, ``estimated_finish`` and the failure's ``error_code`` and ``error_param``.
The seeded ``free`` plan is told it may not fine-tune (``fine_tuning: false`` in its limits;
a plan without the key may).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)
# Plain SQL for each backend, so that offline (--sql) rendering works too; a plan the
# operator already gave a fine_tuning setting keeps it.
FREE_MAY_NOT_FINE_TUNE = {
    "sqlite": "UPDATE plans SET limits = json_set(limits, '$.fine_tuning', json('false')) "
              "WHERE name = 'free' AND json_extract(limits, '$.fine_tuning') IS NULL",
    "postgresql": "UPDATE plans SET limits = "
                  "(limits::jsonb || '{\"fine_tuning\": false}')::json "
                  "WHERE name = 'free' AND limits::jsonb -> 'fine_tuning' IS NULL",
}
FORGET_FINE_TUNING = {
    "sqlite": "UPDATE plans SET limits = json_remove(limits, '$.fine_tuning')",
    "postgresql": "UPDATE plans SET limits = (limits::jsonb - 'fine_tuning')::json",
}


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
    )
    op.create_index("ix_files_org_id_created_at", "files", ["org_id", "created_at"])
    with op.batch_alter_table("tune_jobs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("validation_file", sa.String(255), nullable=True))
        batch.add_column(sa.Column("trained_tokens", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("estimated_finish", WHEN, nullable=True))
        batch.add_column(sa.Column("error_code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("error_param", sa.String(64), nullable=True))
    op.execute(FREE_MAY_NOT_FINE_TUNE[op.get_context().dialect.name])


def downgrade() -> None:
    op.execute(FORGET_FINE_TUNING[op.get_context().dialect.name])
    with op.batch_alter_table("tune_jobs") as batch:
        for column in ("error_param", "error_code", "estimated_finish", "trained_tokens",
                       "validation_file", "attempts"):
            batch.drop_column(column)
    op.drop_index("ix_files_org_id_created_at", table_name="files")
    op.drop_table("files")
