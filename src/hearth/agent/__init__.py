"""hearth code: a local coding agent, a client of an OpenAI-compatible server that imports nothing of hearth's server."""
