"""The one error a tool raises: a mistake in the model's call, said so the model can fix it."""

from __future__ import annotations

from hearth.errors import HearthError


class ToolCallError(HearthError):
    """The call cannot run as written: unknown tool, bad arguments, a path outside the
    workspace, a patch that does not apply. The message is what the model is told."""

    status = 400
    type = "tool_call_error"
