"""Engines by name: ``HEARTH_ENGINE`` (or ``--engine``) picks one.

Real and fake engines are created through the same registry, so tests with the fake engine
exercise the same path as production.
"""

from __future__ import annotations

from collections.abc import Callable

from hearth.config import Settings
from hearth.engines.base import Engine
from hearth.errors import InvalidRequest

EngineFactory = Callable[[Settings], Engine]
_factories: dict[str, EngineFactory] = {}


def register(name: str) -> Callable[[EngineFactory], EngineFactory]:
    def add(factory: EngineFactory) -> EngineFactory:
        _factories[name] = factory
        return factory

    return add


def engine_names() -> list[str]:
    return sorted(_factories)


def create_engine(settings: Settings) -> Engine:
    """Build the engine the settings name; raises InvalidRequest for an unknown name."""
    try:
        factory = _factories[settings.engine]
    except KeyError:
        raise InvalidRequest(
            f"Unknown engine {settings.engine!r}; choose one of: {', '.join(engine_names())}."
        ) from None
    return factory(settings)


@register("llamacpp")
def _llamacpp(settings: Settings) -> Engine:
    from hearth.engines.llamacpp import LlamaCppEngine  # imports llama_cpp only when used

    return LlamaCppEngine.from_settings(settings)


@register("fake")
def _fake(settings: Settings) -> Engine:
    from hearth.engines.fake import FakeEngine

    return FakeEngine.from_settings(settings)


@register("upstream")
def _upstream(settings: Settings) -> Engine:
    from hearth.engines.upstream import UpstreamEngine

    return UpstreamEngine.from_settings(settings)
