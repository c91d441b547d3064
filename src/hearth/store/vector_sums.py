"""Each owner's memory vectors added up, so that their mean is one row away.

The mean of an owner's memory vectors is what all of their memories have in common: their
name, how they talk, what they talk about most. Recall takes part of it out of every
question's vector (``hearth.memory.recall``), and averaging 100,000 vectors per question would
cost more than the search. So every write to the vector index adds or takes away its vectors
here, in the same transaction, as float64 sums: taking away a vector once added leaves no
trace that float32 rounding would.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import event
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from hearth.store.owner import Owner
from hearth.store.search import Embedding

DIMENSIONS = 384

_WHERE = "WHERE org_id = :org AND user_id = :user"
_READ = sql(f"SELECT total, count FROM memory_vector_sums {_WHERE}")
_READ_TO_CHANGE = sql(f"SELECT total, count FROM memory_vector_sums {_WHERE} FOR UPDATE")
_NEW = sql("INSERT INTO memory_vector_sums (org_id, user_id, total, count) "
           "VALUES (:org, :user, :total, 0) ON CONFLICT DO NOTHING")
_WRITE = sql(f"UPDATE memory_vector_sums SET total = :total, count = :count {_WHERE}")
_DROP = sql(f"DELETE FROM memory_vector_sums {_WHERE}")
_CHANGES = "hearth_vector_sum_changes"  # the session.info key of a transaction's changes


def update(session: Session, owner: Owner, *, added: Sequence[Embedding] = (),
           removed: Sequence[Embedding] = ()) -> None:
    """Add the vectors newly indexed for the owner and take away those leaving the index.

    The change is kept in the session and written once as its transaction commits: a message's
    memories are added one by one, and reading and writing the sum costs 0.2 ms each time.
    """
    if not len(added) and not len(removed):
        return
    changes: dict[Owner, tuple[np.ndarray, int]] = session.info.setdefault(_CHANGES, {})
    total, count = changes.get(owner, (np.zeros(DIMENSIONS), 0))
    if len(added):
        total = total + np.asarray(added, dtype=np.float64).sum(axis=0)
    if len(removed):
        total = total - np.asarray(removed, dtype=np.float64).sum(axis=0)
    changes[owner] = (total, count + len(added) - len(removed))


@event.listens_for(Session, "before_commit")
def _write_changes(session: Session) -> None:
    for owner, (change, count_change) in session.info.pop(_CHANGES, {}).items():
        _write(session, owner, change, count_change)


@event.listens_for(Session, "after_rollback")
def _drop_changes(session: Session) -> None:
    session.info.pop(_CHANGES, None)


def _write(session: Session, owner: Owner, change: np.ndarray, count_change: int) -> None:
    names = {"org": owner.org_id, "user": owner.user_id}
    # SQLite has no FOR UPDATE, and needs none: its writers take turns.
    read = _READ if session.get_bind().dialect.name == "sqlite" else _READ_TO_CHANGE
    row = session.execute(read, names).first()
    if row is None:
        session.execute(_NEW, {**names, "total": bytes(8 * DIMENSIONS)})
        row = session.execute(read, names).one()
    count = row.count + count_change
    if count <= 0:
        session.execute(_DROP, names)  # nothing indexed: nothing of the old vectors stays
        return
    total = np.frombuffer(row.total, dtype=np.float64) + change
    session.execute(_WRITE, {**names, "total": total.tobytes(), "count": count})


def mean(session: Session, owner: Owner) -> np.ndarray | None:
    """The mean of the owner's indexed memory vectors; None when they have none."""
    row = session.execute(_READ, {"org": owner.org_id, "user": owner.user_id}).first()
    if row is None or row.count <= 0:
        return None
    return (np.frombuffer(row.total, dtype=np.float64) / row.count).astype(np.float32)
