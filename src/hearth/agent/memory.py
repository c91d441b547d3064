"""What the agent remembers about its user across sessions, kept in hearth's memory.

A preference said once ("use pytest, never unittest") should hold in every later session. The
agent keeps such standing instructions as memories of kind ``instruction`` through hearth's
public memory API (``/v1/memories``, as the user named by ``X-Hearth-User``), pinned so they
are never forgotten for being old, and puts them in the system prompt of each new session. On a
server without that API (any other OpenAI-compatible server) the agent simply has no memory.
"""

from __future__ import annotations

import httpx

from hearth.errors import HearthError

KIND = "instruction"
LIMIT = 30


class MemoryUnavailable(HearthError):
    """The server has no memory API, or refused to store the memory."""


class CodingMemory:
    def __init__(self, base_url: str, user: str, api_key: str | None = None):
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=15.0,
            headers={"Authorization": f"Bearer {api_key or 'local'}", "X-Hearth-User": user})
        self.user = user

    def instructions(self) -> list[str]:
        """The user's standing instructions, oldest first; none where the server keeps none."""
        try:
            reply = self._http.get("/memories", params={"kind": KIND, "limit": LIMIT})
        except httpx.HTTPError:
            return []
        if reply.status_code != 200:
            return []
        return [m["text"] for m in reversed(reply.json().get("data", []))]

    def remember(self, text: str) -> None:
        """Keep ``text`` as a standing instruction (once: the same text is not stored twice)."""
        if text.strip() in self.instructions():
            return
        try:
            reply = self._http.post("/memories", json={"text": text.strip(), "kind": KIND,
                                                       "pinned": True, "importance": 0.9})
        except httpx.HTTPError as exc:
            raise MemoryUnavailable(f"Could not reach the memory API: {exc}") from exc
        if reply.status_code != 201:
            raise MemoryUnavailable(f"The server did not keep the memory ({reply.status_code}: "
                                    f"{reply.text[:200]}).")

    def prompt(self) -> str:
        """The instructions as a part of the system prompt, or "" when there are none."""
        found = self.instructions()
        if not found:
            return ""
        return ("The user's standing instructions (from earlier sessions; follow them):\n"
                + "\n".join(f"- {text}" for text in found))


REMEMBER_TOOL = {"type": "function", "function": {
    "name": "remember",
    "description": "Keep a standing instruction the user gave for all later sessions, in the "
                   "user's words (e.g. 'use pytest, never unittest'). Only when the user states "
                   "how they always want things done.",
    "parameters": {"type": "object", "properties": {"instruction": {"type": "string"}},
                   "required": ["instruction"], "additionalProperties": False}}}
