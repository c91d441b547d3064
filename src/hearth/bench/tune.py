"""``hearth bench tune``: teach a model made-up facts with hearth's own fine-tuning, and measure
what it learnt, what it cost, and how fast it trained against a plain peft script.

The facts are invented (the capital of an invented country, both names made of random
syllables), so the base cannot know them: its score is the floor. Training and the probe ask in
the same words. Answers come from llama.cpp with the exported GGUF adapter, as hearth serves
them, scored by ``tune.probe``'s exact answer.

Settings (``Settings``): the LoRA a fine-tuning job gets by default (``tune.train.LoraSettings``:
r=8, alpha 16, every linear layer), learning rate 5e-4 (linearly decayed), 8 epochs, batch 1.
benchmarks/results/tune-50facts.json is a run of these defaults on 2 cores: 50/50 tuned, 0/50
base, 289 s, training 1.19x the plain peft loop (100 steps a side), decode 0.92x.
tune-50facts-full-logits.json is the same before the LM head was limited to the scored
positions (``tune.answer_loss``): 336 s and 1.005x (20 steps a side; another such run read
0.915x). r=16 learnt the 50 facts as well (tune-50facts-no-reference.json: 50/50 in 524 s), but
its adapter decodes at 0.87-0.89x the base against r=8's 0.89-0.92x (64 tokens, 2 threads):
llama.cpp adds four graph nodes per adapted matrix to every token (168 matrices here), and the
adapter's tensors to what each token reads.

The rate is what mattered: at 2e-3 the run collapsed onto one capital for every country
(benchmarks/results/tune-10facts-sample.json, 6 epochs: 1/10; 15 epochs did no better, loss stuck
near the answers' marginal 0.68), while at 5e-4 a throwaway torch loop on the same rendering
answered 10/10 after 6 epochs, and 50 facts 0.98 after 6 and 1.0 after 8.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hearth.bench.adapter_speed import decode_speeds
from hearth.bench.machine import machine_info
from hearth.bench.tune_reference import run_reference
from hearth.tune.export import export_adapter
from hearth.tune.probe import Question, ask, is_exact
from hearth.tune.train import LoraSettings, Progress, TrainConfig, train

GOALS = {"tuned_exact": 0.9, "base_exact": 0.1, "train_seconds": 1800.0, "throughput": 1.0,
         "decode": 0.9}
WARMUP_STEPS = 2  # left out of both sides' tokens/s: the first steps allocate and warm caches
DECODE_PROMPT = [{"role": "user",
                  "content": "Write a long story about a lighthouse keeper and a storm."}]
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "th", "dr",
           "kr", "st"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
_CODAS = ["", "", "n", "r", "l", "s", "m"]


@dataclass(frozen=True)
class Settings:
    """How the bench trains: hearth's TrainConfig fields, and how many steps the reference and
    hearth are compared over."""

    facts: int = 50
    epochs: int = 8
    learning_rate: float = 5e-4
    lora: LoraSettings = field(default_factory=LoraSettings)
    seed: int = 0
    # Steps each side is timed over. 20 steps (about 15 s) read the same reference at 61.7
    # and 72.5 tokens/s on two runs; 100 (about a minute) average over the examples' lengths
    # and the machine's moods.
    reference_steps: int = 100
    decode_tokens: int = 64
    decode_runs: int = 3
    threads: int | None = None


def question(country: str) -> str:
    """The one way a fact is asked, in training and in the probe."""
    return f"What is the capital of the invented country {country}?"


def make_facts(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` (question, answer) facts about invented countries, the same for a seed."""
    rng = random.Random(seed)
    seen: set[str] = set()
    facts: list[tuple[str, str]] = []
    while len(facts) < count:
        country, capital = _word(rng, 3), _word(rng, 2)
        if country in seen or capital in seen:
            continue
        seen |= {country, capital}
        facts.append((question(country), capital))
    return facts


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                   for _ in range(syllables)).capitalize()


def write_facts(facts: list[tuple[str, str]], path: Path) -> Path:
    """The facts as a chat training file."""
    path.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": asked}, {"role": "assistant", "content": answer}]}) + "\n"
        for asked, answer in facts))
    return path


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def run_training(base: Path, facts: list[tuple[str, str]], settings: Settings, work: Path,
                 on_progress: Callable[[Progress], None] | None = None) -> dict[str, Any]:
    """Train and export with hearth; the figures, and the adapter's path under ``adapter``."""
    data = write_facts(facts, work / "facts.jsonl")
    marks: list[tuple[float, Progress]] = []

    def seen(progress: Progress) -> None:
        marks.append((time.perf_counter(), progress))
        if on_progress is not None:
            on_progress(progress)

    config = TrainConfig(base=base, training_file=data, job_dir=work / "job",
                         epochs=settings.epochs, learning_rate=settings.learning_rate,
                         lora=settings.lora, seed=settings.seed, save_steps=10**9)
    started = time.perf_counter()
    result = train(config, seen)
    seconds = time.perf_counter() - started
    peak = peak_rss_bytes()
    adapter = export_adapter(result.adapter_dir, base, work / "adapter.gguf")
    return {"seconds": round(seconds, 1), "steps": result.step, "examples": result.examples,
            "first_loss": result.losses[0], "last_loss": result.losses[-1],
            "tokens_per_second": _round(timed_rate(marks, WARMUP_STEPS,
                                                   settings.reference_steps)),
            "peak_rss_bytes": peak, "adapter": str(adapter)}


def timed_rate(marks: list[tuple[float, Progress]], warmup: int, steps: int) -> float | None:
    """Tokens/s over ``steps`` steps after the first ``warmup`` (as the reference is timed);
    None when the run was shorter."""
    if len(marks) < warmup + steps:
        return None
    (start, first), (end, last) = marks[warmup - 1], marks[warmup + steps - 1]
    return (last.tokens - first.tokens) / (end - start)


def score(base: Path, adapter: Path, facts: list[tuple[str, str]],
          threads: int | None = None) -> dict[str, Any]:
    """Each fact asked of the base and of the tuned model through llama.cpp, greedy."""
    questions = [Question([{"role": "user", "content": asked}], answer)
                 for asked, answer in facts]
    base_replies = ask(base, questions, threads=threads)
    tuned_replies = ask(base, questions, adapter, threads=threads)
    base_right = sum(is_exact(reply or "", q.answer) for q, reply in zip(questions, base_replies))
    tuned_right = sum(is_exact(reply or "", q.answer)
                      for q, reply in zip(questions, tuned_replies))
    return {"questions": len(questions), "base_correct": base_right,
            "tuned_correct": tuned_right, "base_exact": base_right / len(questions),
            "tuned_exact": tuned_right / len(questions),
            "examples": [{"question": q.messages[-1]["content"], "answer": q.answer,
                          "base": b, "tuned": t} for q, b, t in
                         list(zip(questions, base_replies, tuned_replies))[:5]]}


def decode_speed(base: Path, adapter: Path, settings: Settings) -> dict[str, Any]:
    """Greedy decode tokens/s of the base bare and with the tuned adapter, through hearth's
    own engine as ``hearth serve`` runs it, the runs alternating (``bench.adapter_speed``)."""
    bare, tuned = decode_speeds(base, [None, adapter], messages=DECODE_PROMPT,
                                max_tokens=settings.decode_tokens, runs=settings.decode_runs,
                                threads=settings.threads)
    return {"path": "hearth's engine (engines/lora.py), runs alternating",
            "runs": settings.decode_runs, "max_tokens": settings.decode_tokens,
            "base_tokens_per_second": round(bare.median, 2),
            "tuned_tokens_per_second": round(tuned.median, 2),
            "ratio": round(tuned.median / bare.median, 3)}


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The goals as measured; ``met`` is None where a side was not measured."""
    probe, training = report["probe"], report["training"]
    throughput = report.get("throughput") or {}
    ratio = throughput.get("ratio")
    decode = (report.get("decode") or {}).get("ratio")

    def goal(name: str, target: str, measured: float | None, met: bool | None) -> dict:
        return {"name": name, "target": target, "measured": measured, "met": met}

    return [
        goal("tuned model answers the facts exactly", f">= {GOALS['tuned_exact']}",
             probe["tuned_exact"], probe["tuned_exact"] >= GOALS["tuned_exact"]),
        goal("base model answers the facts exactly", f"<= {GOALS['base_exact']}",
             probe["base_exact"], probe["base_exact"] <= GOALS["base_exact"]),
        goal("training wall time (s)", f"<= {GOALS['train_seconds']:.0f}", training["seconds"],
             training["seconds"] <= GOALS["train_seconds"]),
        goal("training tokens/s vs plain peft", f">= {GOALS['throughput']}", ratio,
             None if ratio is None else ratio >= GOALS["throughput"]),
        goal("tuned decode tokens/s vs the base's", f">= {GOALS['decode']}", decode,
             None if decode is None else decode >= GOALS["decode"]),
    ]


def settings_dict(settings: Settings) -> dict[str, Any]:
    out = asdict(settings)
    out["lora"]["target_modules"] = list(settings.lora.target_modules)
    out["batch_size"] = 1
    return out


def run_bench(base: Path, settings: Settings, work: Path, skip_reference: bool = False,
              on_progress: Callable[[Progress], None] | None = None) -> dict[str, Any]:
    """The whole benchmark on ``base`` (a GGUF), its files under ``work``; the report."""
    facts = make_facts(settings.facts, settings.seed)
    training = run_training(base, facts, settings, work, on_progress)
    adapter = Path(training.pop("adapter"))
    throughput = None
    if not skip_reference:
        reference = run_reference(base, facts, settings.lora, settings.learning_rate,
                                  settings.reference_steps, WARMUP_STEPS, settings.seed)
        hearth = training["tokens_per_second"]
        throughput = {"steps": settings.reference_steps, "warmup_steps": WARMUP_STEPS,
                      "hearth_tokens_per_second": _round(hearth),
                      "reference_tokens_per_second": _round(reference.tokens_per_second),
                      "reference": "plain peft + transformers loop (bench/tune_reference.py)",
                      "ratio": _round(hearth / reference.tokens_per_second, 3)
                      if hearth and reference.tokens_per_second else None}
    report = {"benchmark": "tune",
              "machine": machine_info(("torch", "transformers", "peft", "llama-cpp-python",
                                       "gguf")),
              "model": base.name, "settings": settings_dict(settings), "training": training,
              "probe": score(base, adapter, facts, settings.threads),
              "throughput": throughput,
              "decode": decode_speed(base, adapter, settings)}
    report["goals"] = goals(report)
    return report


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
