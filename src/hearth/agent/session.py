"""The agent's loop: ask the model for one action, check it, run it, show it the result.

Built for small models, which fail as agents in known ways:

- malformed calls: each step asks for exactly one tool call (constrained by the server where it
  can); a reply without a usable call is a format error, told back to the model, and a run of
  ``MAX_FORMAT_ERRORS`` of them in a row ends the session;
- retrying the same way: greedy decoding gives the same reply to the same prompt, so after a
  failed reply the next one is sampled at a higher temperature (``TEMPERATURES``);
- repeating themselves: the same call with the same result, or the same failure, gets a
  warning to do something different, and ends the session after ``MAX_REPEATS`` warnings, so no
  session spins until its step limit without a change;
- overflowing the context: old tool results are dropped (and the model told where) before the
  context is full, and again whenever the server says it is;
- never stopping: a step limit and a wall-clock limit.

The loop speaks only to its ``Model`` and its ``Tools``; approvals, git and saving are plugged in.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hearth.agent.approval import ApprovalPolicy, Ask, needs_approval
from hearth.agent.events import Emit, Event
from hearth.agent.git import GitWorkspace
from hearth.agent.memory import REMEMBER_TOOL, CodingMemory, MemoryUnavailable
from hearth.agent.model import ContextFull, Model, ModelTurn, ToolRequest, arguments_of

MAX_FORMAT_ERRORS = 3
MAX_REPEATS = 3
# Greedy decoding first; after a reply that failed (no usable call, or the same action again)
# the next is sampled warmer, so a retry is not the same reply again.
TEMPERATURES = (0.0, 0.5, 0.9)
COMPACT_AT = 0.75  # of the context window, by the last prompt's size
KEEP_RECENT_RESULTS = 4

FINISH_TOOL = {"type": "function", "function": {
    "name": "finish",
    "description": "End the task: say what you changed and whether it is done.",
    "parameters": {"type": "object", "properties": {"summary": {"type": "string"}},
                   "required": ["summary"], "additionalProperties": False}}}


class Tools(Protocol):
    """What the loop needs of ``hearth.agent.tools.Toolbox``."""

    def specs(self) -> list[dict[str, Any]]: ...

    def propose(self, name: str, arguments: str) -> Any: ...

    def call(self, name: str, arguments: str) -> Any: ...


@dataclass
class Limits:
    max_steps: int = 30
    max_seconds: float = 900.0
    context_tokens: int = 32_768


@dataclass
class Outcome:
    """How a session ended: ``status`` is done, step_limit, time_limit, repeating,
    format_errors or context_full."""

    status: str
    summary: str
    steps: int
    prompt_tokens: int
    completion_tokens: int
    changed_files: list[str]
    tool_calls: int
    malformed_calls: int


@dataclass
class Session:
    model: Model
    tools: Tools
    messages: list[dict[str, Any]]
    emit: Emit = lambda _event: None
    limits: Limits = field(default_factory=Limits)
    policy: ApprovalPolicy = ApprovalPolicy.NEVER
    ask: Ask = lambda _proposal: False
    git: GitWorkspace | None = None
    commit: bool = False
    on_step: Callable[[Session], None] = lambda _session: None
    memory: CodingMemory | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    changed: list[str] = field(default_factory=list)
    tool_calls: int = 0
    malformed_calls: int = 0
    _seen: Counter[str] = field(default_factory=Counter)  # call and its result
    _failures: Counter[str] = field(default_factory=Counter)  # failure texts
    _warnings: int = 0
    _misses: int = 0  # failed replies in a row: picks the next reply's temperature

    def run(self, task: str) -> Outcome:
        """Work on ``task`` (a new user message) until it is finished or a limit is reached."""
        self.messages.append({"role": "user", "content": task})
        self.emit(Event("task", {"task": task}))
        start = time.monotonic()
        format_errors = 0
        step = 0
        while True:
            if step >= self.limits.max_steps:
                return self._end("step_limit", f"Stopped after {step} steps without finishing.",
                                 step)
            if time.monotonic() - start > self.limits.max_seconds:
                return self._end("time_limit", f"Stopped after {self.limits.max_seconds:.0f} s "
                                 "without finishing.", step)
            step += 1
            turn = self._ask_model(step)
            if turn is None:
                return self._end("context_full", "The conversation no longer fits the model's "
                                 "context, even with old tool results dropped.", step)
            call = self._usable_call(turn)
            if call is None:
                self._misses += 1
                format_errors += 1
                if format_errors >= MAX_FORMAT_ERRORS:
                    return self._end("format_errors", f"The model gave {format_errors} replies "
                                     "in a row without a usable tool call.", step)
                continue
            format_errors = 0
            if call.name == "finish":
                summary = (arguments_of(call) or {}).get("summary") or turn.content or ""
                self._answer(call, "Finished.")
                return self._end("done", str(summary), step)
            if call.name == "remember":
                self._remember(call)
                continue
            ended = self._act(call)
            if ended == "done":
                return self._end("done", "The model wrote its change again unchanged, so the "
                                 "change stands (it did not call finish).", step)
            if ended == "repeating":
                return self._end("repeating", "The model kept repeating the same action with "
                                 "the same result.", step)
            self.on_step(self)

    def _all_tools(self) -> list[dict[str, Any]]:
        return [*self.tools.specs(), FINISH_TOOL, *([REMEMBER_TOOL] if self.memory else [])]

    def _ask_model(self, step: int) -> ModelTurn | None:
        tools = self._all_tools()
        for _attempt in range(3):
            try:
                temperature = TEMPERATURES[min(self._misses, len(TEMPERATURES) - 1)]
                turn = self.model.step(self.messages, tools, temperature)
            except ContextFull:
                if not self._compact(force=True):
                    return None
                continue
            self.prompt_tokens += turn.prompt_tokens
            self.completion_tokens += turn.completion_tokens
            self.emit(Event("model.turn", {"step": step, "prompt_tokens": turn.prompt_tokens,
                                           "completion_tokens": turn.completion_tokens,
                                           "content": turn.content,
                                           "calls": [c.name for c in turn.calls]}))
            if turn.prompt_tokens > COMPACT_AT * self.limits.context_tokens:
                self._compact(force=False)
            return turn
        return None

    def _usable_call(self, turn: ModelTurn) -> ToolRequest | None:
        """The turn's first call if it names a tool with JSON-object arguments; otherwise the
        reply goes into the history with a note saying how to answer."""
        names = {spec["function"]["name"] for spec in self._all_tools()}
        call = turn.calls[0] if turn.calls else None
        self.tool_calls += 1
        if call is not None and call.name in names and arguments_of(call) is not None:
            # One action per turn: further calls are dropped from the history too.
            self.messages.append(ModelTurn(turn.content, [call]).as_message())
            return call
        self.malformed_calls += 1
        self.messages.append(ModelTurn(turn.content, turn.calls[:1]).as_message())
        cut = turn.finish_reason == "length"
        limit = f"the length limit ({turn.completion_tokens} tokens)"
        problem = (f"a reply cut off at {limit}" if cut
                   else "no tool call" if call is None
                   else f"an unknown tool {call.name!r}" if call.name not in names
                   else "arguments that are not a JSON object")
        note = (f"Your reply {f'was cut off at {limit}' if cut else 'had ' + problem}. Reply "
                f"with exactly one call to one of: {', '.join(sorted(names))}, with JSON "
                "arguments.")
        if cut:
            # A call cut short is never valid JSON; saying why is what lets the model change it.
            note += (" It was too long or kept repeating itself: make it shorter, and change a "
                     "long file with apply_patch in small steps instead of writing it whole.")
        if call is not None:
            self._answer(call, note)
        else:
            self.messages.append({"role": "user", "content": note})
        self.emit(Event("format.error", {"problem": problem}))
        return None

    def _remember(self, call: ToolRequest) -> None:
        text = str((arguments_of(call) or {}).get("instruction") or "").strip()
        assert self.memory is not None  # the tool is offered only with a memory
        try:
            if not text:
                raise MemoryUnavailable("Give the instruction to remember.")
            self.memory.remember(text)
            answer = f"Remembered for later sessions: {text}"
            self.emit(Event("memory.remembered", {"instruction": text}))
        except MemoryUnavailable as exc:
            answer = f"Not remembered: {exc.message}"
        self._answer(call, answer)

    def _rewrites_unchanged(self, call: ToolRequest, proposal: Any) -> bool:
        """An edit the session made before, asked for again, that would change nothing now:
        how small models say they are done when they do not call finish."""
        return bool(self.changed) and proposal.kind == "edit" and not proposal.diff and any(
            m.get("tool_calls") and m["tool_calls"][0]["function"]["name"] == call.name
            and m["tool_calls"][0]["function"]["arguments"] == call.arguments
            for m in self.messages[:-1])

    def _act(self, call: ToolRequest) -> str | None:
        """Propose, approve and run one call. "done" when it only rewrites the session's change
        unchanged, "repeating" when the model is only repeating itself, else None."""
        try:
            proposal = self.tools.propose(call.name, call.arguments)
        except Exception as exc:  # ToolCallError: the model's mistake, told back to it
            text = getattr(exc, "message", str(exc))
            return self._result(call, text, ok=False, changed=())
        if self._rewrites_unchanged(call, proposal):
            self._answer(call, "Nothing changed: the files already hold this. Finished.")
            return "done"
        self.emit(Event("tool.call", {"name": call.name, "arguments": call.arguments,
                                      "kind": proposal.kind, "summary": proposal.summary,
                                      "diff": proposal.diff}))
        if needs_approval(self.policy, proposal.kind, proposal.command):
            approved = self.ask(proposal)
            self.emit(Event("approval", {"summary": proposal.summary, "approved": approved}))
            if not approved:
                return self._result(call, "The user declined this action. Do something else, "
                                    "or finish and say why you cannot go on.", ok=False, changed=())
        before = self.git.snapshot() if self.git and proposal.kind != "read" else None
        observation = self.tools.call(call.name, call.arguments)
        changed = tuple(observation.changed_files)
        if self.git is not None and before is not None:
            # What git sees changed, so a shell command's writes count as well as an edit's.
            changed = self.git.changed_since(before)
        if changed and self.git is not None and before is not None:
            message = f"hearth code: {proposal.summary}" if self.commit else None
            self.git.record(changed, before, commit_message=message)
        return self._result(call, observation.text, ok=observation.ok, changed=changed,
                            proposal_kind=proposal.kind)

    def _result(self, call: ToolRequest, text: str, *, ok: bool, changed: tuple[str, ...],
                proposal_kind: str = "") -> str | None:
        """Show the model the result, warning it when it repeats itself; "repeating" once it
        has been warned ``MAX_REPEATS`` times."""
        self.changed += [name for name in changed if name not in self.changed]
        same_call = json.dumps([call.name, call.arguments, text])
        repeated = (not changed and self._seen[same_call] > 0) or (
            not ok and self._failures[text] > 0)
        self._seen[same_call] += 1
        if not ok:
            self._failures[text] += 1
        self._misses = self._misses + 1 if repeated else 0
        if repeated:
            self._warnings += 1
            text += ("\n[You have done this before and got the same result. Do something "
                     "different: read the error, look at the file again, or change the approach.]")
        if ok and proposal_kind == "edit":
            # Small models write the fix and then keep rewriting it: say what comes next.
            text += "\n[If the task is done now, call finish; otherwise take the next step.]"
        self._answer(call, text)
        self.emit(Event("tool.result", {"name": call.name, "ok": ok, "changed": list(changed),
                                        "output": text, "repeated": repeated}))
        return "repeating" if self._warnings >= MAX_REPEATS else None

    def _answer(self, call: ToolRequest, text: str) -> None:
        self.messages.append({"role": "tool", "tool_call_id": call.id, "content": text})

    def _compact(self, *, force: bool) -> bool:
        """Drop the text of old tool results (all but the last few), oldest first. True if
        anything was dropped."""
        results = [m for m in self.messages if m["role"] == "tool"]
        keep = 1 if force else KEEP_RECENT_RESULTS
        dropped = 0
        for message in results[:-keep] if len(results) > keep else []:
            if not message["content"].startswith("[dropped"):
                size = len(message["content"])
                message["content"] = (f"[dropped to save context: {size} characters; run the "
                                      "tool again if you need it]")
                dropped += 1
        if dropped:
            self.emit(Event("context.compacted", {"dropped_results": dropped}))
        return dropped > 0

    def _end(self, status: str, summary: str, steps: int) -> Outcome:
        outcome = Outcome(status, summary, steps, self.prompt_tokens, self.completion_tokens,
                          list(self.changed), self.tool_calls, self.malformed_calls)
        self.emit(Event("session.ended", {"status": status, "summary": summary, "steps": steps,
                                          "changed_files": outcome.changed_files,
                                          "prompt_tokens": self.prompt_tokens,
                                          "completion_tokens": self.completion_tokens}))
        return outcome
