"""Governance of fine-tuning: which plans may, and training files kept no longer than the org's
conversations (uploads, and the copies in finished jobs' folders)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from hearth.errors import Forbidden, NotFound
from hearth.governance import audit, retention, tenancy
from hearth.governance.plans import allows_fine_tuning, parse_limits
from hearth.governance.principal import Principal
from hearth.governance.roles import SCOPES, Role
from hearth.store import files, tune_jobs
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.store.tables import StoredFile, TuneJob
from hearth.store.tune_jobs import TRAINING_FILE

OPERATOR = "operator test (cli)"
EXAMPLE = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", ' \
          '"content": "hello"}]}\n'


def principal(plan: str, limits: dict, role: Role = Role.OWNER) -> Principal:
    return Principal(org_id="acme", user_id="alice", role=role, scopes=frozenset(SCOPES),
                     plan=plan, priority=0, limits=limits)


def test_the_free_plan_may_not_fine_tune_and_the_others_may(db: Database) -> None:
    plans = {plan.name: plan.limits for plan in tenancy.list_plans(db)}
    assert not allows_fine_tuning(plans["free"])
    assert allows_fine_tuning(plans["pro"]) and allows_fine_tuning(plans["enterprise"])
    with pytest.raises(Forbidden, match="'free' plan does not include fine-tuning"):
        principal("free", plans["free"]).require_fine_tuning()
    principal("free", plans["free"]).require_fine_tuning(starting=False)  # cancel, delete
    principal("pro", plans["pro"]).require_fine_tuning()
    with pytest.raises(Forbidden, match="service key"):
        principal("pro", plans["pro"], Role.SERVICE).require_fine_tuning(starting=False)


def test_an_operator_can_take_fine_tuning_from_a_plan(db: Database) -> None:
    tenancy.set_plan(db, OPERATOR, "pro", priority=1,
                     limits=parse_limits('{"fine_tuning": false}'))
    [pro] = [plan for plan in tenancy.list_plans(db) if plan.name == "pro"]
    assert not allows_fine_tuning(pro.limits)


def kept_file(db: Database, folder: Path, org: str, *, age: timedelta) -> files.FileRecord:
    folder.mkdir(parents=True, exist_ok=True)
    incoming = folder / f".incoming-{org}-{age.days}"
    incoming.write_text(EXAMPLE)
    record = files.save_file(db, Owner(org, "u"), source=incoming, filename="f.jsonl",
                             purpose="fine-tune")
    with db.session() as session:
        session.execute(update(StoredFile).where(StoredFile.id == record.id)
                        .values(created_at=datetime.now(UTC) - age))
    return record


def finished_job(db: Database, folder: Path, org: str, *, age: timedelta) -> Path:
    job_id = tune_jobs.new_job_id()
    (folder / job_id).mkdir(parents=True)
    (folder / job_id / TRAINING_FILE).write_text(EXAMPLE)
    (folder / job_id / "adapter.gguf").write_bytes(b"GGUF")
    tune_jobs.create_job(db, Owner(org, "u"), job_id=job_id, model="toy", base_path="toy.gguf",
                         training_file="file-x", folder=str(folder / job_id),
                         hyperparameters={})
    tune_jobs.finish(db, job_id, "succeeded", fine_tuned_model="ft:toy")
    with db.session() as session:
        session.execute(update(TuneJob).where(TuneJob.id == job_id)
                        .values(created_at=datetime.now(UTC) - age))
    return folder / job_id


def test_training_files_expire_with_the_orgs_conversations(db: Database,
                                                            tmp_path: Path) -> None:
    tenancy.create_org(db, OPERATOR, "brief")
    tenancy.update_org(db, OPERATOR, "brief", {"conversation_retention_days": 1})
    tenancy.create_org(db, OPERATOR, "keeper")
    old = kept_file(db, tmp_path / "files", "brief", age=timedelta(days=2))
    fresh = kept_file(db, tmp_path / "files", "brief", age=timedelta(0))
    kept = kept_file(db, tmp_path / "files", "keeper", age=timedelta(days=400))
    old_job = finished_job(db, tmp_path / "jobs", "brief", age=timedelta(days=2))
    kept_job = finished_job(db, tmp_path / "jobs", "keeper", age=timedelta(days=400))

    done = retention.purge(db)

    assert done.files == 2  # the old upload, and the old job's copy of its data
    with pytest.raises(NotFound):
        files.get_file(db, "brief", old.id)
    assert not Path(old.path).exists()
    assert files.get_file(db, "brief", fresh.id).id == fresh.id
    assert files.get_file(db, "keeper", kept.id).id == kept.id and Path(kept.path).exists()
    assert not (old_job / TRAINING_FILE).exists() and (old_job / "adapter.gguf").exists()
    assert (kept_job / TRAINING_FILE).exists()
    [purge] = [entry for entry in audit.entries(db, org_id="brief")
               if entry.action == "retention.purge"]
    assert purge.details["files"] == 2
