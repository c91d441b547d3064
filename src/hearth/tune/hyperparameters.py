"""Training settings under OpenAI's names and under hearth's, and the defaults of both.

OpenAI's fine-tuning API takes ``n_epochs``, ``batch_size`` and ``learning_rate_multiplier``
(each may be ``"auto"``); ``TrainConfig`` takes ``epochs``, ``batch_size`` and
``learning_rate``. OpenAI multiplies a base learning rate it does not publish; hearth's base is
``LEARNING_RATE`` (2e-4, a usual rate for LoRA on a 0.5B-7B model), so a multiplier of 1 (or
"auto") trains at 2e-4 and 0.5 at 1e-4. Light on imports: the API reads it, not only the
worker.
"""

from __future__ import annotations

from typing import Any

EPOCHS = 3
LEARNING_RATE = 2e-4
BATCH_SIZE = 1
SEED = 0
AUTO = "auto"


def from_openai(*, n_epochs: int | str | None = None,
                learning_rate_multiplier: float | str | None = None,
                batch_size: int | str | None = None, seed: int | None = None) -> dict[str, Any]:
    """``TrainConfig`` settings for OpenAI's hyperparameters; "auto" or None keep the default."""
    settings: dict[str, Any] = {}
    if n_epochs not in (None, AUTO):
        settings["epochs"] = n_epochs
    if learning_rate_multiplier not in (None, AUTO):
        settings["learning_rate"] = LEARNING_RATE * float(learning_rate_multiplier)
    if batch_size not in (None, AUTO):
        settings["batch_size"] = batch_size
    if seed is not None:
        settings["seed"] = seed
    return settings


def to_openai(settings: dict[str, Any]) -> dict[str, Any]:
    """A job's stored settings as OpenAI reports them: every value resolved, none "auto"."""
    return {"n_epochs": settings.get("epochs", EPOCHS),
            "batch_size": settings.get("batch_size", BATCH_SIZE),
            "learning_rate_multiplier": settings.get("learning_rate", LEARNING_RATE)
            / LEARNING_RATE}
