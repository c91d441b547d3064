"""LoRA training: a peft adapter on a transformers causal LM, trained by transformers' Trainer.

Why Trainer and not TRL's SFTTrainer: TRL is not installed, and what it would add here (chat
rendering, assistant-only loss) is one small module of ours (``render.py``) that also serves
validation, so both count tokens the same way. Trainer brings the rest: the optimiser and
schedule, gradient accumulation, checkpoints with optimiser and RNG state, exact resume
(``resume_from_checkpoint``), CPU or CUDA. The loss runs the LM head only at the positions it
scores (``answer_loss.py``): the same loss, a cheaper step.

A job folder holds ``checkpoints/checkpoint-N`` (every ``save_steps`` steps, the last two kept)
and, once training finishes, ``adapter/`` (peft's ``adapter_config.json`` and
``adapter_model.safetensors``), which ``export.export_adapter`` turns into a GGUF adapter.

This module imports torch, transformers and peft (seconds): the job worker imports it, the API
needs only ``data``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from hearth.tune.answer_loss import AnswerOnlyCollator, answer_loss
from hearth.tune.base import Base, load_base
from hearth.tune.checkpoints import checkpoints_dir
from hearth.tune.data import Dataset, validate
from hearth.tune.hyperparameters import BATCH_SIZE, EPOCHS, LEARNING_RATE, SEED
from hearth.tune.jobs import adapter_dir
from hearth.tune.render import render

# Every linear layer of a Llama/Qwen-style block: tuning all of them learns facts faster than
# attention alone at the same rank (r=8 on the 0.5B: 4.4 M trainable parameters).
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class LoraSettings:
    """The adapter's shape: rank ``r``, scale ``alpha / r``, and the layers it adapts."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: tuple[str, ...] = TARGET_MODULES


@dataclass(frozen=True)
class TrainConfig:
    """One training job: the base (a GGUF file or HF folder), the data, where to write, how."""

    base: Path
    training_file: Path
    job_dir: Path
    epochs: int = EPOCHS
    learning_rate: float = LEARNING_RATE
    batch_size: int = BATCH_SIZE
    lora: LoraSettings = field(default_factory=LoraSettings)
    seed: int = SEED
    save_steps: int = 50
    max_tokens: int | None = None  # longest example allowed; the model's context by default
    validation_file: Path | None = None  # its loss is measured before and after training


@dataclass(frozen=True)
class Progress:
    """Where a run stands after a step, for a progress bar."""

    step: int
    total_steps: int
    loss: float
    tokens_per_second: float
    seconds_left: float
    tokens: int  # the input tokens trained on so far, the steps before a resume included


@dataclass(frozen=True)
class TrainResult:
    """How a run ended: at ``step`` of ``total_steps``, ``stopped`` early or with ``adapter_dir``
    written; ``losses`` are the training losses of the steps this run took."""

    step: int
    total_steps: int
    stopped: bool
    adapter_dir: Path | None
    losses: list[float]
    examples: int
    seconds: float
    # Mean loss on the validation file's assistant turns, with a validation file: before
    # training (None when the run resumed: the base is no longer what a checkpoint holds) and
    # after (None when the run stopped early).
    validation_loss_before: float | None = None
    validation_loss_after: float | None = None


def last_checkpoint(job_dir: Path) -> Path | None:
    """The job's newest checkpoint, where a resumed run starts; None before the first."""
    folder = checkpoints_dir(job_dir)
    found = get_last_checkpoint(str(folder)) if folder.is_dir() else None
    return Path(found) if found else None


def train(config: TrainConfig, on_progress: Callable[[Progress], None] | None = None,
          should_stop: Callable[[], bool] | None = None, base: Base | None = None) -> TrainResult:
    """Train a LoRA adapter as ``config`` says, resuming from the job's last checkpoint if any.

    ``on_progress`` is called after every step; ``should_stop`` is asked after every step and a
    True ends the run there (the last checkpoint stays for a resume). ``base`` is a base already
    loaded from ``config.base`` (the caller may have validated the data with its tokenizer);
    training wraps its model in the adapter, so a base serves one run.
    Runs on CUDA where torch sees a GPU, else on the CPU.
    """
    base = base or load_base(config.base)
    max_tokens = config.max_tokens or base.context_length
    dataset = validate(config.training_file, base.tokenizer, max_tokens)
    validation = (validate(config.validation_file, base.tokenizer, max_tokens)
                  if config.validation_file else None)
    torch.manual_seed(config.seed)  # the adapter's initial weights
    lora = config.lora
    model = get_peft_model(base.model, LoraConfig(
        r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules), bias="none", task_type="CAUSAL_LM"))
    arguments = TrainingArguments(
        output_dir=str(checkpoints_dir(config.job_dir)), num_train_epochs=config.epochs,
        learning_rate=config.learning_rate, per_device_train_batch_size=config.batch_size,
        seed=config.seed, save_strategy="steps", save_steps=config.save_steps,
        save_total_limit=2, logging_strategy="steps", logging_steps=1, report_to="none",
        disable_tqdm=True, remove_unused_columns=False, use_cpu=not torch.cuda.is_available(),
        include_num_input_tokens_seen="non_padding", dataloader_pin_memory=False)
    watcher = _Watcher(on_progress, should_stop)
    trainer = Trainer(model=model, args=arguments, train_dataset=_rendered(base, dataset),
                      eval_dataset=_rendered(base, validation) if validation else None,
                      data_collator=AnswerOnlyCollator(base.tokenizer),
                      compute_loss_func=answer_loss, callbacks=[watcher])
    trainer.remove_callback(PrinterCallback)  # progress goes to on_progress, not to stdout
    started = time.monotonic()
    resume = last_checkpoint(config.job_dir)
    # A fresh adapter's lora_B is zero, so this is the base's own loss.
    before = _validation_loss(trainer) if validation and not resume else None
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    state = trainer.state
    done = state.global_step >= state.max_steps  # a stop asked after the last step is no stop
    if done:
        model.save_pretrained(adapter_dir(config.job_dir))
    return TrainResult(step=state.global_step, total_steps=state.max_steps,
                       stopped=not done, adapter_dir=adapter_dir(config.job_dir) if done else None,
                       losses=watcher.losses, examples=dataset.count,
                       seconds=time.monotonic() - started, validation_loss_before=before,
                       validation_loss_after=_validation_loss(trainer)
                       if validation and done else None)


def _validation_loss(trainer: Trainer) -> float:
    return float(trainer.evaluate(metric_key_prefix="validation")["validation_loss"])


def _rendered(base: Base, dataset: Dataset) -> list[dict[str, list[int]]]:
    """The examples as Trainer's items: token ids, and labels masked to the assistant turns."""
    rendered = (render(base.tokenizer, example.messages) for example in dataset.examples)
    return [{"input_ids": item.input_ids, "labels": item.labels} for item in rendered]


class _Watcher(TrainerCallback):
    """Reports each step's loss and pace, and stops the run when asked to."""

    def __init__(self, on_progress: Callable[[Progress], None] | None,
                 should_stop: Callable[[], bool] | None):
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.losses: list[float] = []
        self._started = time.monotonic()
        self._first_step = 0
        self._first_tokens = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._started = time.monotonic()
        self._first_step = state.global_step  # not 0 after a resume
        self._first_tokens = state.num_input_tokens_seen

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None,
               **kwargs: Any) -> None:
        if not logs or "loss" not in logs:
            return  # the summary logged at the end of training
        self.losses.append(float(logs["loss"]))
        elapsed = max(time.monotonic() - self._started, 1e-9)
        steps = max(state.global_step - self._first_step, 1)
        if self.on_progress is not None:
            self.on_progress(Progress(
                step=state.global_step, total_steps=state.max_steps, loss=float(logs["loss"]),
                tokens_per_second=(state.num_input_tokens_seen - self._first_tokens) / elapsed,
                seconds_left=elapsed / steps * (state.max_steps - state.global_step),
                tokens=int(state.num_input_tokens_seen)))
        # Asked here, after the step is reported and before Trainer checks the flag, so a stop
        # comes right after the step the caller last saw.
        if self.should_stop is not None and self.should_stop():
            control.should_training_stop = True
