"""``python -m hearth`` runs the CLI."""

from hearth.cli.main import app

app()
