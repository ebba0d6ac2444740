"""``python -m mixhouse`` runs the server CLI."""

from mixhouse.cli.main import app

app()
