"""hearth code: a local coding agent, a client of any OpenAI-compatible server."""
