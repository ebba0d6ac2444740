"""The Alembic environment of the metadata store, shipped inside the package.

No ``alembic.ini`` is needed: :func:`alembic_config` builds the configuration in code. Revisions live in
``versions/`` and are hand-written (``NNNN_<slug>.py``, ``revision = "NNNN"``).
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import URL, Connection

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(*, connection: Connection | None = None, url: str | URL | None = None) -> Config:
    """An Alembic ``Config`` for this package's migrations.

    With ``connection``, ``env.py`` migrates over that connection (inside its transaction, if one is open);
    otherwise it opens an engine on ``url``.
    """
    config = Config()
    # Config values go through configparser interpolation: escape '%'.
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if url is not None:
        rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config
