"""Request and response schemas of ``POST /v1/chat/completions`` (OpenAI's shape).

Types are strict (``STRICT``): ``"stream": "yes"`` or ``"max_tokens": "10"`` are refused, not
read as ``true`` and ``10``, so a client's mistake is a 400 rather than a guess.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hearth.api.json_schema import JsonSchema
from hearth.engines.base import FinishReason

STRICT = ConfigDict(strict=True)


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: str
    text: str | None = None


class FunctionCall(BaseModel):
    model_config = STRICT
    name: str
    arguments: str


class ToolCallIn(BaseModel):
    model_config = STRICT
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


# What OpenAI's reasoning models accept; an engine whose model does not think ignores it.
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _needs_content(self) -> "ChatMessage":
        if self.content is None and not self.tool_calls:
            raise ValueError(f"a {self.role} message needs content")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id")
        return self

    def text(self) -> str | None:
        """Content as plain text: text parts are joined; other part types are refused."""
        if self.content is None or isinstance(self.content, str):
            return self.content
        for part in self.content:
            if part.type != "text":
                raise ValueError(f"content part type {part.type!r} is not supported")
        return "".join(part.text or "" for part in self.content)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": "system" if self.role == "developer" else self.role,
                               "content": self.text()}
        if self.name:
            out["name"] = self.name
        if self.tool_calls:
            out["tool_calls"] = [c.model_dump() for c in self.tool_calls]
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        return out


class FunctionDef(BaseModel):
    model_config = STRICT
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    description: str | None = None
    parameters: JsonSchema | None = None
    strict: bool | None = None


class ToolDef(BaseModel):
    model_config = STRICT
    type: Literal["function"]
    function: FunctionDef


class JsonSchemaFormat(BaseModel):
    model_config = STRICT
    name: str = "response"
    schema_: JsonSchema = Field(alias="schema")
    strict: bool | None = None
    description: str | None = None


class ResponseFormat(BaseModel):
    model_config = STRICT
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_present(self) -> "ResponseFormat":
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format of type json_schema needs a json_schema object")
        return self


class StreamOptions(BaseModel):
    model_config = STRICT
    include_usage: bool = False


class FunctionName(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str


class NamedToolChoice(BaseModel):
    """``{"type": "function", "function": {"name": …}}``: the model must call this tool."""

    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["function"]
    function: FunctionName


class ChatCompletionRequest(BaseModel):
    """Values hearth cannot honour (``n`` over 1, more than 4 stop sequences, a tool_choice
    naming no tool) are refused, not silently ignored; fields this model does not declare are
    dropped, because the clients it serves send their own extras (vendor fields, ``logprobs``)
    and refusing them would break those clients at their first request."""

    model_config = ConfigDict(extra="ignore", strict=True)
    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 2)
    frequency_penalty: float = Field(default=0.0, ge=-2.0, le=2.0)
    presence_penalty: float = Field(default=0.0, ge=-2.0, le=2.0)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1)
    response_format: ResponseFormat | None = None
    tools: list[ToolDef] | None = Field(default=None, max_length=128)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    user: str | None = Field(default=None, max_length=64)
    metadata: dict[str, str] | None = None
    reasoning_effort: ReasoningEffort | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> list[str]:
        stops = [value] if isinstance(value, str) else list(value or [])
        if len(stops) > 4:
            raise ValueError("at most 4 stop sequences are allowed")
        if any(not s for s in stops):
            raise ValueError("stop sequences must not be empty")
        return stops

    @field_validator("tool_choice")
    @classmethod
    def _tool_choice_names_a_tool(cls, choice: Any, info: ValidationInfo) -> Any:
        names = [tool.function.name for tool in info.data.get("tools") or []]
        if choice == "required" and not names:
            raise ValueError("tool_choice 'required' needs tools to choose from")
        if isinstance(choice, NamedToolChoice) and choice.function.name not in names:
            raise ValueError(f"tool_choice names function {choice.function.name!r}, which is "
                             "not in tools")
        return choice

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class PromptTokensDetails(BaseModel):
    cached_tokens: int = 0  # prompt tokens whose KV cache was reused from an earlier request


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails = PromptTokensDetails()


class AnswerMessage(BaseModel):
    role: Literal["assistant"]
    content: str | None
    tool_calls: list[ToolCallIn] | None = None
    reasoning: str | None = None  # the model's thinking, where it gives one
    reasoning_content: str | None = None  # the same, under the older name


class Choice(BaseModel):
    index: int
    message: AnswerMessage
    finish_reason: FinishReason
    logprobs: None


class ChatCompletion(BaseModel):
    """The answer when ``stream`` is false; what the OpenAPI document promises (the route
    builds it as a dict, see ``hearth.api.chat.serving``)."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
