"""Schemas of ``POST /v1/embeddings``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class EmbeddingRequest(BaseModel):
    model: str = Field(min_length=1)
    input: str | list[str] = Field(min_length=1)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None

    def texts(self) -> list[str]:
        texts = [self.input] if isinstance(self.input, str) else self.input
        if len(texts) > 256:
            raise ValueError("at most 256 inputs per request")
        return texts
