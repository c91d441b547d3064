"""Cursor pages in OpenAI's style: ``after`` names the last item of the previous page, and a
page says ``has_more``. One definition of the keyset for every list that pages this way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute


def ordered_after(statement: Select[Any], created_at: InstrumentedAttribute[datetime],
                  id_: InstrumentedAttribute[str], after: tuple[datetime, str] | None,
                  newest_first: bool = True) -> Select[Any]:
    """``statement`` ordered by creation (ties by id), starting past ``after`` (the previous
    page's last item's creation time and id) when given. Ids break ties because two rows can
    share a timestamp, and a cursor must never skip or repeat one of them."""
    order = created_at.desc() if newest_first else created_at.asc()
    statement = statement.order_by(order, id_)
    if after is None:
        return statement
    when, last_id = after
    beyond = created_at < when if newest_first else created_at > when
    return statement.where(or_(beyond, and_(created_at == when, id_ > last_id)))


def page(rows: list[Any], limit: int) -> tuple[list[Any], bool]:
    """The first ``limit`` of ``rows`` (fetched with ``limit + 1``) and whether more follow."""
    return rows[:limit], len(rows) > limit
