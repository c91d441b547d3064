"""Pages as HTML responses: one Jinja2 template each, sent with a strict security policy.

The Content-Security-Policy allows only this site's own scripts, styles and images (and
``data:`` images), so a reply, memory or title that slipped past the sanitiser still could
not run a script, load a remote image (a tracking pixel) or post a form elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

_TEMPLATES = Path(__file__).parent / "templates"
_ENV = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(),
                   trim_blocks=True, lstrip_blocks=True)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def page(request: Request, template: str, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """Render a page's template; ``context`` reaches it beside ``request``."""
    html = _ENV.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
