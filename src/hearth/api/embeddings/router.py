"""``POST /v1/embeddings``: vectors from the served model."""

from fastapi import APIRouter, Depends, Request

from hearth.api.deps import authorise
from hearth.api.embeddings.protocol import EmbeddingRequest
from hearth.errors import InvalidRequest, ModelNotFound

router = APIRouter()


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
        "data": [{"object": "embedding", "index": i, "embedding": v}
                 for i, v in enumerate(vectors)],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
