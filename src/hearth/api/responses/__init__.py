"""``/v1/responses``: OpenAI's Responses API, on the same turn as chat completions."""
