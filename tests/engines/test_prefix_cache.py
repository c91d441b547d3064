"""The embedded engine reuses the KV cache of the longest cached prompt prefix, within one
cache scope (an org), and sizes its context to the model where memory allows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from hearth.config import Settings
from hearth.engines.base import ChatRequest, Delta
from hearth.engines.llamacpp import LlamaCppEngine, fitting_context
from live_server import default_model_path

MiB = 2**20


def test_the_context_is_what_the_model_was_trained_for_when_the_budget_holds_it() -> None:
    per_token = 12 * 1024  # Qwen2.5-Coder-0.5B: 24 layers x 2 KV heads x 64 dims x K,V x f16
    assert fitting_context(32768, 4, per_token, 6 * 1024 * MiB) == 32768


def test_a_smaller_budget_gives_the_longest_context_that_fits_every_slot() -> None:
    per_token = 12 * 1024
    context = fitting_context(32768, 4, per_token, 512 * MiB)
    assert context % 256 == 0
    assert 4 * context * per_token <= 512 * MiB < 4 * (context + 256) * per_token


def test_a_tiny_budget_still_leaves_a_usable_context_and_never_more_than_trained() -> None:
    assert fitting_context(32768, 4, 12 * 1024, 1 * MiB) == 2048
    assert fitting_context(1024, 4, 12 * 1024, 1 * MiB) == 1024


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppEngine]:
    path = default_model_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `hearth models pull` (make test does)")
    settings = Settings(model=str(path), parallel=2, threads=2)
    engine = LlamaCppEngine.from_settings(settings)
    yield engine
    asyncio.run(engine.close())


def answer(engine: LlamaCppEngine, messages: list[dict], scope: str = "acme",
           max_tokens: int = 8) -> tuple[str, Delta]:
    async def run() -> tuple[str, Delta]:
        pieces = []
        request = ChatRequest(messages=messages, max_tokens=max_tokens, temperature=0,
                              cache_scope=scope)
        async for delta in engine.chat(request):
            pieces.append(delta.content)
            last = delta
        return "".join(pieces), last
    return asyncio.run(run())


SYSTEM = {"role": "system", "content": "You are a terse assistant. " * 40}


def ask(text: str) -> list[dict]:
    return [SYSTEM, {"role": "user", "content": text}]


@pytest.mark.model
def test_the_default_context_is_the_models_own(engine: LlamaCppEngine) -> None:
    assert engine.context_length == 32768  # Qwen2.5-Coder's, on a machine of a few GB


@pytest.mark.model
def test_a_prompt_that_extends_the_last_one_decodes_only_its_new_tokens(
        engine: LlamaCppEngine) -> None:
    first = ask("Name a colour.")
    text, done = answer(engine, first)
    second = first + [{"role": "assistant", "content": text},
                      {"role": "user", "content": "And another one?"}]
    _, again = answer(engine, second)
    assert again.prompt_tokens > done.prompt_tokens
    assert again.cached_tokens >= done.prompt_tokens


@pytest.mark.model
def test_the_same_prompt_again_reuses_all_but_its_last_token(engine: LlamaCppEngine) -> None:
    messages = ask("Name a fruit.")
    answer(engine, messages)
    _, again = answer(engine, messages)
    assert again.cached_tokens == again.prompt_tokens - 1


@pytest.mark.model
def test_another_orgs_cache_is_never_used(engine: LlamaCppEngine) -> None:
    messages = ask("Name a city.")
    answer(engine, messages, scope="acme")
    _, other = answer(engine, messages, scope="globex")
    assert other.cached_tokens == 0


@pytest.mark.model
def test_a_cache_outlives_a_request_for_something_else(engine: LlamaCppEngine) -> None:
    """Two slots: the unrelated prompt takes the slot used longest ago, not the cached one."""
    messages = ask("Name a river.")
    answer(engine, messages)
    answer(engine, [{"role": "user", "content": "Say yes."}], scope="acme")
    _, again = answer(engine, messages)
    assert again.cached_tokens == again.prompt_tokens - 1


def answer_while_another_runs(engine: LlamaCppEngine, running: list[dict], running_scope: str,
                              messages: list[dict], scope: str = "acme") -> Delta:
    """``messages``' last delta, asked while ``running`` is still generating in the other slot."""
    async def run() -> Delta:
        started = asyncio.Event()

        async def long_answer() -> None:
            request = ChatRequest(messages=running, max_tokens=48, temperature=0,
                                  cache_scope=running_scope)
            async for _ in engine.chat(request):
                started.set()

        other = asyncio.create_task(long_answer())
        await started.wait()
        request = ChatRequest(messages=messages, max_tokens=4, temperature=0, cache_scope=scope)
        async for delta in engine.chat(request):
            last = delta
        await other
        return last
    return asyncio.run(run())


@pytest.mark.model
def test_a_prompt_borrows_the_start_it_shares_with_a_running_sequence(
        engine: LlamaCppEngine) -> None:
    """Both slots are taken in turn, so the second prompt cannot use its own slot's cache: it
    shares the system prompt's cells of the sequence running beside it instead."""
    system_tokens = engine.count_tokens(SYSTEM["content"])
    answer(engine, [{"role": "user", "content": "Say no."}])  # both slots hold something else
    answer(engine, [{"role": "user", "content": "Say maybe."}])
    done = answer_while_another_runs(engine, ask("Count to twenty."), "acme",
                                     ask("Name a planet."))
    assert done.cached_tokens >= system_tokens
    assert done.cached_tokens < done.prompt_tokens


@pytest.mark.model
def test_a_running_sequence_of_another_org_lends_nothing(engine: LlamaCppEngine) -> None:
    answer(engine, [{"role": "user", "content": "Say no."}], scope="globex")
    answer(engine, [{"role": "user", "content": "Say maybe."}], scope="globex")
    done = answer_while_another_runs(engine, ask("Count to thirty."), "globex",
                                     ask("Name a moon."), scope="initech")
    assert done.cached_tokens == 0
