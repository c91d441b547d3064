"""The agent-loop case of ``hearth bench engine``: its prompts and how its goals are decided."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hearth.bench.agent_loop import (
    RESPONSES_GOAL, SECOND_TURN_GOAL, TURNS, Loop, Turn, agent_loop_goals, instructions,
    run_agent_loops,
)
from hearth.bench.engine import BenchConfig
from hearth.cli.main import app


def loop(name: str, ttfts: list[float], tokens: int = 16, decode_s: float = 1.0) -> Loop:
    """A loop whose turns take their time to first token plus ``decode_s``."""
    return Loop(name, name, [Turn(4000 + 40 * i, 0, tokens, ttft, ttft + decode_s)
                             for i, ttft in enumerate(ttfts)], wall_s=sum(ttfts) + decode_s)


def test_each_loop_starts_from_instructions_of_its_own_of_about_4000_tokens() -> None:
    chat, responses = instructions("chat"), instructions("responses")
    assert chat != responses
    # A prefix one loop left in the cache must not serve the other: they differ at once, and
    # are otherwise the same work.
    assert chat[:30] != responses[:30]
    assert chat.split("\n", 1)[1] == responses.split("\n", 1)[1]
    words = len(chat.split())
    assert 1600 < words < 2000  # about 2.2 tokens a word for this text (numbers, paths)


def test_the_second_turn_goal_is_its_ttft_over_the_firsts() -> None:
    ratios, goals = agent_loop_goals(loop("chat", [10.0, 1.5]), loop("responses", [10.0, 1.5]),
                                     loop("chat_no_cache", [10.0, 10.5]))
    assert ratios["second_vs_first_turn_ttft"] == 0.15
    assert ratios["second_vs_first_turn_ttft_no_cache"] == 1.05
    [second_turn, responses] = goals
    assert second_turn.met is (0.15 <= SECOND_TURN_GOAL)
    assert responses.measured == 1.0 and responses.met is True


def test_responses_slower_than_the_goal_allows_is_not_met() -> None:
    chat = loop("chat", [10.0, 1.0])  # turn 2: 16 tokens in 2 s
    slow = loop("responses", [10.0, 1.0], decode_s=2.0 / (RESPONSES_GOAL - 0.01) - 1.0)
    _, [_, responses] = agent_loop_goals(chat, slow, loop("chat_no_cache", [10.0, 10.0]))
    assert responses.met is False


def test_a_loop_that_was_not_measured_decides_nothing() -> None:
    failed = Loop("responses", "responses", error="404")
    _, [second_turn, responses] = agent_loop_goals(loop("chat", [10.0, 1.0]), failed,
                                                   loop("chat_no_cache", [10.0, 10.0]))
    assert second_turn.met is True
    assert responses.measured is None and responses.met is None


def test_the_three_loops_run_against_hearth_serve_and_report_every_turn(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the fake engine the timings mean nothing; the turns, the growing prompts and the
    report's shape are what is checked."""
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    model = tmp_path / "fake.gguf"
    model.write_bytes(b"GGUF" + bytes(60))
    config = BenchConfig(model_path=model, threads=1, hearth_engine="fake")
    report = run_agent_loops(config)
    assert set(report["loops"]) == {"chat", "responses", "chat_no_cache"}
    for loop in report["loops"].values():
        assert loop["error"] is None
        prompts = [turn["prompt_tokens"] for turn in loop["turns"]]
        assert len(prompts) == TURNS and prompts == sorted(prompts) and prompts[0] > 1500
        assert all(turn["ttft_s"] is not None for turn in loop["turns"])
    assert all(goal["measured"] is not None for goal in report["goals"])


def test_bench_engine_agent_loop_alone_prints_its_table_and_goals(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTH_ENGINE", "fake")
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    model = tmp_path / "fake.gguf"
    model.write_bytes(b"GGUF" + bytes(60))
    out = tmp_path / "engine.json"
    result = CliRunner().invoke(app, ["bench", "engine", "--model", str(model), "--threads", "1",
                                      "--case", "agent-loop", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "agent loop" in result.output and "turn 2 TTFT" in result.output
    report = json.loads(out.read_text())
    assert report["systems"] == {}
    assert [goal["ratio"] for goal in report["goals"]] == [
        "second_vs_first_turn_ttft", "responses_vs_chat_tps"]


def test_throughput_leaves_out_the_first_turns_prefill() -> None:
    """Two loops alike but for a slower first prefill have the same throughput."""
    quick, slow_start = loop("chat", [10.0, 1.0, 1.0]), loop("responses", [60.0, 1.0, 1.0])
    assert quick.tokens_per_s == slow_start.tokens_per_s == 16 / 2.0
