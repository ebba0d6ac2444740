"""Experiments under the App API: ``S(experiments/...)`` — ``/api/app/projects/{pid}/experiments/...`` or, with a
pinned workspace, ``/api/app/workspaces/{wid}/experiments/...`` (the workspace's project)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from mixhouse.errors import NotFoundError
from mixhouse.meta.experiments import Experiment, Experiments
from mixhouse.meta.feature_flags import Actor
from mixhouse.server.context import runtime
from mixhouse.server.routes.app_access import project_scope, scoped_routes
from mixhouse.services import experiments as service
from mixhouse.services.access import WRITERS, check_writer


class _Scope:
    """The caller and the project the path names (403 for a project it is not a member of), and its
    experiments."""

    def __init__(self, request: Request) -> None:
        self.who, self.project_id = project_scope(request)
        self.can_edit = self.who.membership(self.project_id).role in WRITERS
        raw_workspace = request.path_params.get("workspace_id")
        self.workspace_id = None if raw_workspace is None else int(raw_workspace)
        self.experiments = Experiments(runtime(request).meta, self.project_id)
        self.experiment_id: str = request.path_params.get("experiment_id", "")

    def writer(self) -> Actor:
        check_writer(self.who, self.project_id)
        return Actor(self.who.account.id, self.who.account.name)

    def missing(self) -> NotFoundError:
        return NotFoundError(f"Not found: no experiment {self.experiment_id} in project {self.project_id}")

    def json(self, experiment: Experiment | None) -> dict[str, Any]:
        if experiment is None:
            raise self.missing()
        return service.experiment_json(experiment, can_edit=self.can_edit)

    def apply(self, make_rule: Callable[[], service.Rule]) -> dict[str, Any]:
        """Check the caller may write (403 first), then the body (400), then run the rule."""
        actor = self.writer()
        return self.json(self.experiments.apply(self.experiment_id, make_rule(), actor))

    def existing(self) -> Experiment:
        experiment = self.experiments.get(self.experiment_id)
        if experiment is None:
            raise self.missing()
        return experiment


def _list_or_create(request: Request, body: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    if request.method == "GET":
        archived = request.query_params.get("include_archived", "").lower() in ("1", "true")
        return [scope.json(e) for e in scope.experiments.all(include_archived=archived)]
    actor = scope.writer()
    fields = service.create_fields(body or {})
    return scope.json(scope.experiments.create(fields, actor, workspace_id=scope.workspace_id))


def _one(request: Request, body: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    if request.method == "GET":
        return scope.json(scope.existing())
    if request.method == "DELETE":
        scope.writer()
        if not scope.experiments.delete(scope.experiment_id):
            raise scope.missing()
        return None
    return scope.apply(lambda: service.update(body or {}))


def _launch(request: Request, _: dict[str, Any] | None) -> object:
    return _Scope(request).apply(lambda: service.launch)


def _conclude(request: Request, body: dict[str, Any] | None) -> object:
    return _Scope(request).apply(lambda: service.conclude(body or {}))


def _decide(request: Request, body: dict[str, Any] | None) -> object:
    return _Scope(request).apply(lambda: service.decide(body or {}))


def _archive(request: Request, _: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    if request.method == "POST":
        scope.apply(lambda: service.archive)
        return None
    return scope.apply(lambda: service.restore)


def _duplicate(request: Request, body: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    actor = scope.writer()
    fields = service.duplicate_fields(scope.existing(), body or {})
    return scope.json(scope.experiments.create(fields, actor, workspace_id=scope.workspace_id))


def _erf(request: Request, _: dict[str, Any] | None) -> object:
    return [service.erf_json(e) for e in _Scope(request).experiments.all()]


def routes() -> list[Route]:
    one = "experiments/{experiment_id}"
    return scoped_routes([
        ("experiments/erf", _erf, ["GET"]),
        (one + "/launch", _launch, ["PUT"]),
        (one + "/force_conclude", _conclude, ["PUT"]),
        (one + "/decide", _decide, ["PATCH"]),
        (one + "/archive", _archive, ["POST", "DELETE"]),
        (one + "/duplicate", _duplicate, ["POST"]),
        (one, _one, ["GET", "PATCH", "DELETE"]),
        ("experiments", _list_or_create, ["GET", "POST"]),
    ])
