"""Training data from stored conversations: one chat example per conversation, in the training
file's format (``{"messages": [...]}`` per line), with a count and a preview to show before
anyone trains on it.

Whose conversations: one user's, or every user's of an org (an org admin tuning on the org's
chats). Who may ask for which is the caller's decision (the API's roles, the CLI's admin
command); this module reads through the store's owner-scoped functions only, so it reads one
org and never another, and an example is always one conversation of one owner: owners are never
mixed within an example.

What a conversation becomes:

- its messages in order, with their text; messages without text are left out;
- cut before its first tool call or tool result: the answers after a tool result rest on what
  the tool returned, which a chat example of system, user and assistant turns cannot hold;
- a system message is kept where the client sent one first (hearth's own system prompt, with
  the user's memories, is never stored, so it is not in the examples either); ``system_prompt``
  puts one of the caller's choosing at the top of every example instead, for a model that will
  be served with that prompt;
- ended at its last assistant answer (an unanswered question teaches nothing); a conversation
  with no answer left gives no example.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.errors import InvalidRequest
from hearth.store import conversations
from hearth.store.conversations import ConversationView
from hearth.store.db import Database
from hearth.store.owner import Owner
from hearth.tune.data import validate_lines

PREVIEW = 3


class NoConversationData(InvalidRequest):
    """The conversations asked for hold no answer to train on."""

    code = "no_training_data"


@dataclass(frozen=True)
class ConversationData:
    """Training examples built from conversations, ready to write as a training file.

    ``per_user`` counts each user's examples; ``skipped`` the conversations that gave none.
    """

    examples: list[list[dict[str, str]]]
    per_user: dict[str, int]
    skipped: int

    @property
    def count(self) -> int:
        return len(self.examples)

    def preview(self, count: int = PREVIEW) -> list[dict[str, Any]]:
        """The first ``count`` examples as they will be written."""
        return [{"messages": messages} for messages in self.examples[:count]]

    def lines(self) -> list[str]:
        return [json.dumps({"messages": messages}, ensure_ascii=False)
                for messages in self.examples]

    def write(self, path: Path) -> Path:
        """Write the examples to ``path`` as a JSONL training file."""
        Path(path).write_text("".join(line + "\n" for line in self.lines()), encoding="utf-8")
        return Path(path)


def from_conversations(db: Database, org_id: str, user_id: str | None = None, *,
                       system_prompt: str | None = None) -> ConversationData:
    """One example per conversation of ``user_id`` in ``org_id``, or of every user of the org
    when ``user_id`` is None; checked as a training file is. Raises NoConversationData when
    none has an answer to learn from."""
    owners = ([Owner(org_id, user_id)] if user_id is not None
              else conversations.conversation_owners(db, org_id))
    examples: list[list[dict[str, str]]] = []
    per_user: dict[str, int] = {}
    skipped = 0
    for owner in owners:
        for listed in conversations.list_conversations(
                db, limit=None, org_id=owner.org_id, user_id=owner.user_id):
            full = conversations.get_conversation(db, listed.id, org_id=owner.org_id,
                                                  user_id=owner.user_id)
            messages = example_messages(full, system_prompt)
            if messages is None:
                skipped += 1
                continue
            examples.append(messages)
            per_user[owner.user_id] = per_user.get(owner.user_id, 0) + 1
    if not examples:
        whose = f"user {user_id!r}" if user_id is not None else "any user"
        raise NoConversationData(f"{whose} of org {org_id!r} has no stored conversation with an "
                                 "assistant answer to train on: chat first, or upload a "
                                 "training file", param="training_file")
    data = ConversationData(examples=examples, per_user=per_user, skipped=skipped)
    validate_lines(data.lines())  # the same checks an uploaded file gets
    return data


def example_messages(conversation: ConversationView,
                     system_prompt: str | None = None) -> list[dict[str, str]] | None:
    """The conversation as one training example's messages (see the module's docstring), or
    None when it holds no answer to learn from."""
    kept: list[dict[str, str]] = []
    for message in conversation.messages:
        if message.role == "tool" or message.tool_calls:
            break
        text = (message.content or "").strip()
        if message.role not in ("system", "user", "assistant") or not text:
            continue
        if message.role == "system" and (kept or system_prompt is not None):
            continue  # only a first system message is an example's; the caller's wins
        kept.append({"role": message.role, "content": text})
    answers = [index for index, message in enumerate(kept) if message["role"] == "assistant"]
    if not answers:
        return None
    kept = kept[:answers[-1] + 1]
    if system_prompt is not None:
        kept.insert(0, {"role": "system", "content": system_prompt})
    return kept
