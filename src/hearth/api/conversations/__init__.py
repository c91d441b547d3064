"""``/v1/conversations``: read back the conversations hearth has stored."""
