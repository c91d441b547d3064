"""LoRA training on the toy Qwen2 GGUF: the loss falls, progress is reported every step, and a
run stopped after a checkpoint resumes from it to the same end."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from safetensors.torch import load_file
from toy_job import STEPS, job_config

from hearth.tune.train import Progress, TrainResult, last_checkpoint, train

def test_training_lowers_the_loss_and_writes_the_adapter(
        trained: tuple[TrainResult, list[Progress]]) -> None:
    result, _ = trained
    assert (result.step, result.total_steps, result.stopped) == (STEPS, STEPS, False)
    assert len(result.losses) == STEPS
    first, last = sum(result.losses[:4]) / 4, sum(result.losses[-4:]) / 4
    assert last < first * 0.8, result.losses
    assert result.adapter_dir is not None
    config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"]) == (8, 16)
    assert set(config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj",
                                             "gate_proj", "up_proj", "down_proj"}


def test_progress_is_reported_after_every_step(trained: tuple[TrainResult, list[Progress]]) -> None:
    result, reports = trained
    assert [report.step for report in reports] == list(range(1, STEPS + 1))
    assert {report.total_steps for report in reports} == {STEPS}
    assert [report.loss for report in reports] == result.losses
    assert all(report.tokens_per_second > 0 for report in reports)
    assert reports[-1].seconds_left == 0 and reports[0].seconds_left > 0


def test_a_stopped_run_resumes_from_its_last_checkpoint_to_the_same_adapter(
        toy_qwen2_gguf: Path, tmp_path: Path,
        trained: tuple[TrainResult, list[Progress]]) -> None:
    settings = job_config(toy_qwen2_gguf, tmp_path / "job")
    stopped = train(settings, should_stop=lambda: len(seen) >= 6,
                    on_progress=(seen := []).append)
    assert (stopped.step, stopped.stopped, stopped.adapter_dir) == (6, True, None)
    assert last_checkpoint(settings.job_dir).name == "checkpoint-4"

    resumed_reports: list[Progress] = []
    resumed = train(settings, on_progress=resumed_reports.append)
    assert (resumed.step, resumed.total_steps, resumed.stopped) == (STEPS, STEPS, False)
    assert [report.step for report in resumed_reports] == list(range(5, STEPS + 1))
    # Resumed from step 4 with its optimiser and RNG state, it ends where the uninterrupted run
    # did: the same adapter, within float rounding.
    whole = load_file(trained[0].adapter_dir / "adapter_model.safetensors")
    again = load_file(resumed.adapter_dir / "adapter_model.safetensors")
    assert whole.keys() == again.keys()
    for name in whole:
        assert (whole[name] - again[name]).abs().max() < 1e-5, name


def test_a_validation_file_is_scored_before_and_after_training(toy_qwen2_gguf: Path,
                                                               tmp_path: Path) -> None:
    settings = job_config(toy_qwen2_gguf, tmp_path / "job")
    result = train(replace(settings, validation_file=settings.training_file))
    assert result.validation_loss_before is not None and result.validation_loss_after is not None
    # Scored on what it was taught: the base is near chance (ln of the toy's 400 tokens), the
    # tuned model far below.
    assert result.validation_loss_before > 4
    assert result.validation_loss_after < result.validation_loss_before / 2
