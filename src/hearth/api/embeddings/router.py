"""``POST /v1/embeddings``: vectors from the served model."""

import base64
import struct
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hearth.api.auth import chat_key
from hearth.api.embeddings.protocol import EmbeddingRequest
from hearth.api.json_body import JSONBodyRoute
from hearth.api.metering import RequestMeter
from hearth.api.openapi import errors
from hearth.errors import InvalidRequest, ModelNotFound
from hearth.governance.gate import Pass

router = APIRouter(route_class=JSONBodyRoute)


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    """OpenAI's SDK asks for base64 by default: little-endian float32, base64-encoded."""
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


@router.post("/v1/embeddings", responses=errors(404, 502, 503))
async def create_embeddings(body: EmbeddingRequest, request: Request,
                            admitted: Annotated[Pass, Depends(chat_key)]) -> dict:
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
    meter = RequestMeter(request.app.state.gate, request.app.state.energy, admitted,
                         model=engine.model_id, route="embeddings",
                         in_flight=engine.queue_depth() + 1)
    vectors, tokens = await engine.embed(texts)
    await meter.settle(200, prompt_tokens=tokens)
    return {
        "object": "list",
        "model": engine.model_id,
        "data": [{"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
                 for i, v in enumerate(vectors)],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
