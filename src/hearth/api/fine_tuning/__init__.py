"""``/v1/fine_tuning/jobs``: fine-tuning jobs, their events and checkpoints."""
