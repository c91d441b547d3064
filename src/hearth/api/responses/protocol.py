"""Request schemas of ``POST /v1/responses`` (OpenAI's Responses API), as the ``openai`` SDK and
Codex CLI send them.

Input items and tools hearth cannot act on (images, files, hosted tools such as web search)
are refused with a 400 that names them, never silently dropped; fields that only tune
OpenAI's own service (``include``, ``prompt_cache_key``, ``service_tier``, ``truncation``)
are accepted and change nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hearth.api.chat.protocol import FunctionDef, ReasoningEffort
from hearth.api.json_schema import JsonSchema

INPUT_ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")
TEXT_PART_TYPES = ("input_text", "output_text", "text")


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")  # output_text's annotations and logprobs
    type: str
    text: str | None = None


def _text_parts(value: Any) -> Any:
    """Refuse, by name, a content part that is not text (before pydantic tries each type)."""
    for part in value if isinstance(value, list) else ():
        if isinstance(part, dict) and part.get("type") not in TEXT_PART_TYPES:
            raise ValueError(f"content part type {part.get('type')!r} is not supported; "
                             "hearth reads text parts (input_text, output_text) only")
    return value


class MessageItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["message"] = "message"
    id: str | None = None
    role: Literal["user", "system", "developer", "assistant"]
    content: str | list[ContentPart]

    _parts = field_validator("content", mode="before")(_text_parts)


class FunctionCallItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["function_call"]
    id: str | None = None
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str


class FunctionCallOutputItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["function_call_output"]
    id: str | None = None
    call_id: str = Field(min_length=1)
    output: str | list[ContentPart]

    _parts = field_validator("output", mode="before")(_text_parts)


class ReasoningItem(BaseModel):
    """Reasoning a client sends back from an earlier answer. Accepted so that a client
    replaying its history works; it does not reach the prompt, as chat templates drop the
    reasoning of earlier turns."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["reasoning"]
    id: str | None = None
    summary: list[dict[str, Any]] = []
    content: list[dict[str, Any]] | None = None
    encrypted_content: str | None = None


InputItem = Annotated[MessageItem | FunctionCallItem | FunctionCallOutputItem | ReasoningItem,
                      Field(discriminator="type")]


class FunctionTool(FunctionDef):
    """A function tool, in the Responses shape: the function's fields sit on the tool itself."""

    type: Literal["function"]


class NamespaceTool(BaseModel):
    """Function tools grouped under one name (Codex CLI sends its sub-agent tools so); the
    model sees the functions, and a call to one of them names its namespace."""

    type: Literal["namespace"]
    name: str
    description: str | None = None
    tools: list[FunctionTool]


Tool = Annotated[FunctionTool | NamespaceTool, Field(discriminator="type")]


class FunctionChoice(BaseModel):
    type: Literal["function"]
    name: str


class TextFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"]
    name: str = "response"
    schema_: JsonSchema | None = Field(default=None, alias="schema")
    strict: bool | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _schema_present(self) -> TextFormat:
        if self.type == "json_schema" and self.schema_ is None:
            raise ValueError("text.format of type json_schema needs a schema")
        return self


class TextConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")  # verbosity
    format: TextFormat = TextFormat(type="text")


class ReasoningConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")  # summary, generate_summary
    effort: ReasoningEffort | None = None


def _refuse_unknown(kind: str, value: Any, known: tuple[str, ...]) -> Any:
    """Name the first item whose type hearth does not support, rather than let pydantic list
    every member of the union it failed to match."""
    for item in value if isinstance(value, list) else ():
        if isinstance(item, dict) and item.get("type") not in known:
            raise ValueError(f"{kind} type {item.get('type')!r} is not supported; hearth "
                             "supports " + ", ".join(known))
    return value


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1)
    input: list[InputItem] = Field(min_length=1)  # a string is read as one user message
    instructions: str | None = None
    tools: list[Tool] | None = Field(default=None, max_length=128)
    tool_choice: Literal["none", "auto", "required"] | FunctionChoice = "auto"
    parallel_tool_calls: bool = True
    text: TextConfig = TextConfig()
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    reasoning: ReasoningConfig | None = None
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    user: str | None = Field(default=None, max_length=64)
    store: bool = True
    stream: bool = False
    previous_response_id: str | None = None
    background: bool = False

    @field_validator("input", mode="before")
    @classmethod
    def _known_items(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [{"type": "message", "role": "user", "content": value}]
        if isinstance(value, list):  # a message may leave its type out
            value = [{"type": "message", **item} if isinstance(item, dict) and "type" not in item
                     and "role" in item else item for item in value]
        return _refuse_unknown("input item", value, INPUT_ITEM_TYPES)

    @field_validator("tools", mode="before")
    @classmethod
    def _function_tools(cls, value: Any) -> Any:
        return _refuse_unknown("tool", value, ("function", "namespace"))

    @field_validator("background")
    @classmethod
    def _foreground(cls, value: bool) -> bool:
        if value:
            raise ValueError("background responses are not supported; stream instead")
        return value

    @property
    def functions(self) -> dict[str, str | None]:
        """Every function the model may call, with the namespace it sits in (if any)."""
        found: dict[str, str | None] = {}
        for tool in self.tools or ():
            if isinstance(tool, NamespaceTool):
                found.update((inner.name, tool.name) for inner in tool.tools)
            else:
                found[tool.name] = None
        return found

    @property
    def reasoning_effort(self) -> ReasoningEffort | None:
        return self.reasoning.effort if self.reasoning else None


class ResponseObject(BaseModel):
    """A response as ``POST /v1/responses`` and ``GET /v1/responses/{id}`` answer it: what
    the OpenAPI document promises (serving builds it as a dict, field for field as OpenAI's)."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: Literal["response"]
    created_at: int
    status: Literal["completed", "incomplete", "failed", "in_progress"]
    model: str
    output: list[dict[str, Any]]
    usage: dict[str, Any] | None
    error: dict[str, Any] | None
    incomplete_details: dict[str, Any] | None
