"""``POST /v1/embeddings``: vectors from the served model."""

import base64
import struct

from fastapi import APIRouter, Depends, Request

from hearth.api.deps import authorise
from hearth.api.embeddings.protocol import EmbeddingRequest
from hearth.errors import InvalidRequest, ModelNotFound

router = APIRouter()


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    """OpenAI's SDK asks for base64 by default: little-endian float32, base64-encoded."""
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


@router.post("/v1/embeddings", dependencies=[Depends(authorise)])
async def create_embeddings(body: EmbeddingRequest, request: Request) -> dict:
    engine = request.app.state.engine
    if body.model != engine.model_id:
        raise ModelNotFound(f"The model {body.model!r} does not exist; this server serves "
                            f"{engine.model_id!r}.", param="model")
    try:
        texts = body.texts()
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="input") from None
    if body.dimensions is not None:
        raise InvalidRequest("dimensions is not supported by this model.", param="dimensions")
    vectors, tokens = await engine.embed(texts)
    return {
        "object": "list",
        "model": engine.model_id,
        "data": [{"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
                 for i, v in enumerate(vectors)],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
