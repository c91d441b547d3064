"""``/v1/files``: uploads kept for fine-tuning."""
