"""Shared plumbing of ``Workspace`` and its method-group mixins: the attributes they rely on (declared for the
type checker; ``Workspace`` sets and defines them) and the helpers that read the server's answers."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from mixhouse.client.transport import ApiClient
from mixhouse.errors import MixhouseError

if TYPE_CHECKING:
    from mixhouse.client.config import Project

M = TypeVar("M", bound=BaseModel)


class WorkspaceBase:
    """What the mixins use of ``Workspace``: its low-level client and its current project."""

    _api: ApiClient

    if TYPE_CHECKING:
        @property
        def project(self) -> Project: ...


def _today() -> str:
    return date.today().isoformat()


def _validate(model: type[M], raw: Any, endpoint: str) -> M:
    if not isinstance(raw, dict):
        raise MixhouseError(f"{endpoint}: the server answered {type(raw).__name__}, not an object",
                            details={"code": "INVALID_RESPONSE", "response": raw})
    try:
        return model.model_validate(raw)
    except Exception as exc:
        raise MixhouseError(f"{endpoint}: unexpected answer: {exc}",
                            details={"code": "INVALID_RESPONSE", "response": raw}) from exc


def _validate_list(model: type[M], raw: Any, endpoint: str) -> list[M]:
    if isinstance(raw, dict) and isinstance(raw.get("results"), list):
        raw = raw["results"]
    if not isinstance(raw, list):
        raise MixhouseError(f"{endpoint}: the server answered {type(raw).__name__}, not a list",
                            details={"code": "INVALID_RESPONSE", "response": raw})
    return [_validate(model, row, endpoint) for row in raw]


def _transform_profile(profile: dict[str, Any]) -> dict[str, Any]:
    props = dict(profile.get("$properties") or {})
    last_seen = props.pop("$last_seen", None)
    return {"distinct_id": profile.get("$distinct_id", ""), "last_seen": last_seen, "properties": props}
