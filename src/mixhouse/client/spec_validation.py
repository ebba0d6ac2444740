"""The checks the query specs, cohort definitions and ``build_*`` functions share: the ``YYYY-MM-DD`` pattern and
``_fail``, which raises ``BookmarkValidationError`` with its rule."""

from __future__ import annotations

import re
from typing import NoReturn

from mixhouse.errors import BookmarkValidationError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _fail(rule: str, message: str) -> NoReturn:
    raise BookmarkValidationError(message, rule=rule)
