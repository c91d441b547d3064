"""hearth's own exceptions: each says what went wrong and what to do about it.

The API maps them to OpenAI-shaped error objects in one handler (``hearth.api.errors``);
the CLI prints their message on one line. ``status`` is the HTTP status they map to.
"""

from __future__ import annotations


class HearthError(Exception):
    """Base class: a message fit to show a user, and the HTTP status it maps to."""

    status: int = 500
    type: str = "server_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class InvalidRequest(HearthError):
    """The request is well-formed JSON but asks for something impossible."""

    status = 400
    type = "invalid_request_error"


class ContextOverflow(InvalidRequest):
    """Prompt plus requested completion do not fit the model's context window."""

    code = "context_length_exceeded"


class Unauthorized(HearthError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class Forbidden(HearthError):
    """The caller is known but this key, role or plan does not allow the action."""

    status = 403
    type = "permission_error"
    code = "insufficient_permissions"


class Conflict(HearthError):
    """The thing to create exists already."""

    status = 409
    type = "invalid_request_error"
    code = "already_exists"


class NotFound(HearthError):
    status = 404
    type = "invalid_request_error"


class ModelNotFound(NotFound):
    code = "model_not_found"


class PayloadTooLarge(HearthError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class UnsupportedMediaType(HearthError):
    """A request body that is not JSON (``Content-Type`` other than ``application/json``)."""

    status = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


class RateLimited(HearthError):
    """Too many requests from one caller; ``retry_after`` is in seconds."""

    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(HearthError):
    """The engine queue is full; the caller should retry after ``retry_after`` seconds."""

    status = 503
    type = "server_error"
    code = "server_overloaded"

    def __init__(self, message: str, *, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after


class ModelFileError(HearthError):
    """A model file is missing, truncated or does not match its checksum."""

    status = 500
    code = "model_unavailable"


class UpstreamError(HearthError):
    """The upstream server (``HEARTH_UPSTREAM_URL``) could not be reached or failed to answer.

    502 Bad Gateway: the fault is between hearth and the server it forwards to, not in the
    caller's request, so retrying later (or fixing the upstream) is the remedy.
    """

    status = 502
    type = "server_error"
    code = "upstream_error"
