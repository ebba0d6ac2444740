"""``python -m mixhouse`` runs the server CLI."""

from mixhouse.cli.main import app

if __name__ == "__main__":
    app()
