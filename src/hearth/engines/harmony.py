"""gpt-oss's harmony format on both sides: chat requests to prompt tokens, completion tokens to
``Delta`` pieces.

gpt-oss was trained on harmony, not on a Jinja chat template: the system message carries the
reasoning effort, the developer message the instructions and the function tools, and the model
writes on channels: ``analysis`` (its reasoning), ``final`` (the answer) and ``commentary``
(tool calls addressed ``to=functions.NAME``, or a preamble the user may read). openai-harmony
renders and parses this exactly as the model was trained; this module maps it to and from
OpenAI's chat shape.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from openai_harmony import (
    Author,
    Conversation,
    DeveloperContent,
    HarmonyEncoding,
    HarmonyError,
    Message,
    ReasoningEffort,
    Role,
    StreamableParser,
    SystemContent,
    ToolDescription,
)

from hearth.engines.base import ChatRequest, Delta, FinishReason, ToolCall
from hearth.engines.tool_calls import new_call_id
from hearth.errors import InvalidRequest

log = logging.getLogger(__name__)

_EFFORTS = {"low": ReasoningEffort.LOW, "medium": ReasoningEffort.MEDIUM,
            "high": ReasoningEffort.HIGH}
_FUNCTIONS = "functions."


def render_prompt(encoding: HarmonyEncoding, request: ChatRequest) -> list[int]:
    """The prompt tokens for ``request``, ending where the assistant's next message starts.

    System and developer messages become the developer message's instructions (the harmony
    system message belongs to the format: identity, date, reasoning effort, channels); function
    tools are offered unless ``tool_choice`` is "none".
    """
    effort = request.reasoning_effort or "medium"
    if effort not in _EFFORTS:
        raise InvalidRequest("reasoning_effort must be 'low', 'medium' or 'high'.",
                             param="reasoning_effort")
    system = (SystemContent.new().with_reasoning_effort(_EFFORTS[effort])
              .with_conversation_start_date(datetime.now(UTC).strftime("%Y-%m-%d")))
    messages = [Message.from_role_and_content(Role.SYSTEM, system)]
    instructions = "\n\n".join(m["content"] for m in request.messages
                               if m["role"] in ("system", "developer") and m.get("content"))
    tools = request.tools if request.tool_choice != "none" else None
    if instructions or tools:
        developer = DeveloperContent.new()
        if instructions:
            developer = developer.with_instructions(instructions)
        if tools:
            developer = developer.with_function_tools([_tool_description(t) for t in tools])
        messages.append(Message.from_role_and_content(Role.DEVELOPER, developer))
    call_names: dict[str, str] = {}
    for message in request.messages:
        messages.extend(_harmony_messages(message, call_names))
    return encoding.render_conversation_for_completion(Conversation.from_messages(messages),
                                                       Role.ASSISTANT)


def _tool_description(tool: dict[str, Any]) -> ToolDescription:
    fn = tool["function"]
    return ToolDescription.new(fn["name"], fn.get("description") or "", fn.get("parameters"))


def _harmony_messages(message: dict[str, Any], call_names: dict[str, str]) -> list[Message]:
    """One OpenAI message as harmony messages; ``call_names`` maps tool-call ids to functions,
    since a tool result names only the id of the call it answers."""
    role, content = message["role"], message.get("content") or ""
    if role == "user":
        return [Message.from_role_and_content(Role.USER, content)]
    if role == "tool":
        name = call_names.get(message.get("tool_call_id", ""), message.get("name", "tool"))
        author = Author.new(Role.TOOL, f"{_FUNCTIONS}{name}")
        return [Message.from_author_and_content(author, content).with_channel("commentary")
                .with_recipient("assistant")]
    if role != "assistant":
        return []  # system and developer messages went into the developer message
    out = []
    reasoning = message.get("reasoning") or message.get("reasoning_content")
    if reasoning:
        out.append(Message.from_role_and_content(Role.ASSISTANT, reasoning)
                   .with_channel("analysis"))
    calls = message.get("tool_calls") or []
    if content:
        # Text beside tool calls is a preamble, which harmony writes on the commentary channel.
        out.append(Message.from_role_and_content(Role.ASSISTANT, content)
                   .with_channel("commentary" if calls else "final"))
    for call in calls:
        fn = call["function"]
        call_names[call["id"]] = fn["name"]
        out.append(Message.from_role_and_content(Role.ASSISTANT, fn.get("arguments") or "{}")
                   .with_channel("commentary").with_recipient(f"{_FUNCTIONS}{fn['name']}")
                   .with_content_type("<|constrain|>json"))
    return out


class HarmonyStream:
    """Completion tokens in, ``Delta`` pieces out, one token at a time.

    The analysis channel becomes ``reasoning``, the final channel (and a commentary preamble)
    ``content``; a commentary message to ``functions.NAME`` becomes a ``ToolCall`` when it is
    complete, for a function the request offered. Headers and special tokens never reach the
    client. Output that breaks the format (``broken``) ends the answer with what was parsed.
    """

    def __init__(self, encoding: HarmonyEncoding, tools: list[dict[str, Any]] | None):
        self._parser = StreamableParser(encoding, Role.ASSISTANT)
        self._message_ends = frozenset(encoding.stop_tokens())  # <|end|>, <|call|>, <|return|>
        self._offered = {t["function"]["name"] for t in tools or []}
        self._done = 0  # messages already turned into tool calls
        self.calls: list[ToolCall] = []
        self.broken = False

    def feed(self, token: int) -> Delta | None:
        """Parse one generated token; the text it adds to the reasoning or the answer, if any."""
        if self.broken:
            return None
        try:
            self._parser.process(token)
        except HarmonyError as exc:
            self._break(exc)
            return None
        if token in self._message_ends:
            self._collect_calls()
        text = self._parser.last_content_delta
        if not text:
            return None
        channel, recipient = self._parser.current_channel, self._parser.current_recipient
        if recipient is not None:
            return None  # arguments of a tool call: sent whole once the call is complete
        if channel == "analysis":
            return Delta(reasoning=text)
        return Delta(content=text)  # final, a commentary preamble, or a message without channel

    def finish(self, reason: str) -> Delta:
        """The last piece once generation ended for ``reason`` ("stop" or "length"), carrying
        the tool calls; the usage counts are the caller's to fill in."""
        if not self.broken:
            try:
                self._parser.process_eos()
            except HarmonyError as exc:
                self._break(exc)
            self._collect_calls()
        finish: FinishReason = "tool_calls" if self.calls else reason  # type: ignore[assignment]
        return Delta(tool_calls=self.calls or None, finish_reason=finish)

    def _collect_calls(self) -> None:
        messages = self._parser.messages
        for message in messages[self._done:]:
            recipient = message.recipient or ""
            name = recipient.removeprefix(_FUNCTIONS)
            if recipient.startswith(_FUNCTIONS) and name in self._offered:
                arguments = "".join(getattr(c, "text", "") for c in message.content)
                self.calls.append(ToolCall(id=new_call_id(), name=name,
                                           arguments=_json_or_as_is(arguments)))
        self._done = len(messages)

    def _break(self, exc: HarmonyError) -> None:
        log.warning("gpt-oss output left the harmony format: %s", exc)
        self.broken = True


def _json_or_as_is(arguments: str) -> str:
    """Arguments as compact JSON when they parse; as written otherwise, for the client to see."""
    try:
        return json.dumps(json.loads(arguments))
    except json.JSONDecodeError:
        return arguments
