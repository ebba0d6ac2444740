"""The checks the query specs, cohort definitions and ``build_*`` functions share: the ``YYYY-MM-DD`` pattern,
``_fail`` (raise one broken rule at once) and ``Problems`` (collect every broken rule of a call, then raise).

A refusal is a ``BookmarkValidationError`` whose ``rule`` is the first broken rule's code, spelled as the client
library spells it (``V1_MATH_REQUIRES_PROPERTY``, ``CP1_INVALID_ID``, ``U21``...), and whose ``details`` hold the
argument it is about (``path``, e.g. ``events[0].filters[1]``) and, for collected checks, every broken rule as
``errors: [{"code", "path", "severity", "message"}]`` in the order they were found.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

from mixhouse.errors import BookmarkValidationError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _error(code: str, message: str, path: str | None) -> dict[str, Any]:
    return {"code": code, "path": path, "severity": "error", "message": message}


def _fail(rule: str, message: str, path: str | None = None) -> NoReturn:
    """Refuse at once: ``rule`` is the code the vectors record, ``path`` the argument at fault."""
    raise BookmarkValidationError(message, rule=rule, details={"path": path, "errors": [_error(rule, message, path)]})


class Problems:
    """Every broken rule of one call: ``add`` each, then ``raise_if_any`` (the first names the error)."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, code: str, message: str, path: str | None = None) -> None:
        self.errors.append(_error(code, message, path))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        first = self.errors[0]
        more = len(self.errors) - 1
        message = first["message"] + (f" (and {more} more: {', '.join(e['code'] for e in self.errors[1:])})"
                                       if more else "")
        raise BookmarkValidationError(message, rule=first["code"],
                                      details={"path": first["path"], "errors": list(self.errors)})
