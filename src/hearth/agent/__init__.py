"""hearth code: a coding agent that is a client of any OpenAI-compatible server."""
