"""Mount the web app on the API's app: pages at ``/``, their files at ``/static``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hearth.web import pages, signin


def mount_web(app: FastAPI) -> None:
    app.include_router(signin.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
