"""hearth: a self-hosted AI platform on open-weight models."""

__version__ = "0.1.0"
