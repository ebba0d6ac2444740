"""``Workspace`` method groups: App API entities (dashboards, reports, cohorts, flags, experiments, annotations,
alerts, webhooks) and the App request helper they share."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mixhouse.client import types as t
from mixhouse.client._base import WorkspaceBase, _validate, _validate_list
from mixhouse.errors import QueryError


def _body(params: Any) -> dict[str, Any]:
    if isinstance(params, t.Params):
        return params.body()
    if isinstance(params, BaseModel):
        return params.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(params, dict):
        return dict(params)
    raise TypeError(f"expected a params model or a dict, not {type(params).__name__}")


class EntitiesMixin(WorkspaceBase):
    """The App API's saved entities, one section per kind.

    Paths in the method docs are written ``/api/app/projects/{pid}/...``; when a workspace is pinned, all but the
    feature-flag calls go to ``/api/app/workspaces/{wid}/...`` instead. Feature flags always use
    ``/api/app/projects/{pid}/workspaces/{wid}/...`` (resolving the workspace when none is pinned).
    """

    # ------------------------------------------------------------------------------------------------- App helpers
    def _app(self, method: str, suffix: str, *, params: dict[str, Any] | None = None, json: Any = None,
             scope: str = "maybe") -> Any:
        if scope == "require":
            path = self._api.require_scoped_path(suffix)
        elif scope == "project":
            path = self._api.project_path(suffix)
        else:
            path = self._api.maybe_scoped_path(suffix)
        return self._api.app_request(method, path, params=params, json=json)

    # ------------------------------------------------------------------------------------------------- dashboards
    def list_dashboards(self, *, ids: list[int] | None = None) -> list[t.Dashboard]:
        """Dashboards of the project (GET /api/app/projects/{pid}/dashboards); ``ids`` fetches only those."""
        params = {"ids": ",".join(str(i) for i in ids)} if ids else None
        return _validate_list(t.Dashboard, self._app("GET", "dashboards", params=params), "list_dashboards")

    def create_dashboard(self, params: t.CreateDashboardParams | dict[str, Any]) -> t.Dashboard:
        """Create a dashboard (POST /api/app/projects/{pid}/dashboards) and return it.

        ``params``: ``CreateDashboardParams`` or a dict of the same fields."""
        return _validate(t.Dashboard, self._app("POST", "dashboards", json=_body(params)), "create_dashboard")

    def get_dashboard(self, dashboard_id: int) -> t.Dashboard:
        """One dashboard by id (GET /api/app/projects/{pid}/dashboards/{id})."""
        return _validate(t.Dashboard, self._app("GET", f"dashboards/{dashboard_id}"), "get_dashboard")

    def update_dashboard(self, dashboard_id: int, params: t.UpdateDashboardParams | dict[str, Any]) -> t.Dashboard:
        """Change a dashboard (PATCH /api/app/projects/{pid}/dashboards/{id}) and return it.

        ``params``: ``UpdateDashboardParams`` or a dict; only the fields given are sent."""
        body = self._app("PATCH", f"dashboards/{dashboard_id}", json=_body(params))
        return _validate(t.Dashboard, body, "update_dashboard")

    def delete_dashboard(self, dashboard_id: int) -> None:
        """Delete a dashboard (DELETE /api/app/projects/{pid}/dashboards/{id})."""
        self._app("DELETE", f"dashboards/{dashboard_id}")

    def bulk_delete_dashboards(self, ids: list[int]) -> None:
        """Delete several dashboards in one call (POST /api/app/projects/{pid}/dashboards/bulk-delete)."""
        self._app("POST", "dashboards/bulk-delete", json={"dashboard_ids": list(ids)})

    def favorite_dashboard(self, dashboard_id: int) -> None:
        """Mark a dashboard as a favorite of the current user
        (POST /api/app/projects/{pid}/dashboards/{id}/favorites)."""
        self._app("POST", f"dashboards/{dashboard_id}/favorites")

    def unfavorite_dashboard(self, dashboard_id: int) -> None:
        """Remove a dashboard from the current user's favorites
        (DELETE /api/app/projects/{pid}/dashboards/{id}/favorites)."""
        self._app("DELETE", f"dashboards/{dashboard_id}/favorites")

    def pin_dashboard(self, dashboard_id: int) -> None:
        """Pin a dashboard (POST /api/app/projects/{pid}/dashboards/{id}/pin)."""
        self._app("POST", f"dashboards/{dashboard_id}/pin")

    def unpin_dashboard(self, dashboard_id: int) -> None:
        """Unpin a dashboard (DELETE /api/app/projects/{pid}/dashboards/{id}/pin)."""
        self._app("DELETE", f"dashboards/{dashboard_id}/pin")

    def add_report_to_dashboard(self, dashboard_id: int, bookmark_id: int) -> t.Dashboard:
        """Add a saved report to a dashboard as a new card (PATCH /api/app/projects/{pid}/dashboards/{id},
        ``content.action=create``); returns the updated dashboard."""
        body = self._app("PATCH", f"dashboards/{dashboard_id}", json={"content": {
            "action": "create", "content_type": "report", "content_params": {"source_bookmark_id": bookmark_id}}})
        return _validate(t.Dashboard, body, "add_report_to_dashboard")

    def remove_report_from_dashboard(self, dashboard_id: int, bookmark_id: int) -> t.Dashboard:
        """Take a report's card off a dashboard (PATCH /api/app/projects/{pid}/dashboards/{id},
        ``content.action=delete``); returns the updated dashboard."""
        body = self._app("PATCH", f"dashboards/{dashboard_id}", json={"content": {
            "action": "delete", "content_type": "report", "content_id": bookmark_id}})
        return _validate(t.Dashboard, body, "remove_report_from_dashboard")

    def list_blueprint_templates(self, *, include_reports: bool = False) -> list[t.BlueprintTemplate]:
        """Dashboard blueprint templates (GET /api/app/projects/{pid}/dashboards/blueprints-all).

        ``include_reports=True`` adds each template's reports."""
        params = {"include_reports": "true"} if include_reports else None
        body = self._app("GET", "dashboards/blueprints-all", params=params)
        if isinstance(body, dict):
            templates = body.get("templates") or {}
            body = [{"name": name, **spec} for name, spec in templates.items() if isinstance(spec, dict)]
        return _validate_list(t.BlueprintTemplate, body or [], "list_blueprint_templates")

    def create_blueprint(self, template_type: str) -> t.Dashboard:
        """Create a dashboard from a blueprint template (POST /api/app/projects/{pid}/dashboards/blueprints)."""
        body = self._app("POST", "dashboards/blueprints", json={"template_type": template_type})
        return _validate(t.Dashboard, body, "create_blueprint")

    def get_blueprint_config(self, dashboard_id: int) -> t.BlueprintConfig:
        """Blueprint configuration of a dashboard (GET /api/app/projects/{pid}/dashboards/{id}/blueprint-config)."""
        body = self._app("GET", f"dashboards/{dashboard_id}/blueprint-config")
        return _validate(t.BlueprintConfig, body, "get_blueprint_config")

    def update_blueprint_cohorts(self, cohorts: list[dict[str, Any]]) -> None:
        """Set the cohorts that blueprint dashboards use (PUT /api/app/projects/{pid}/dashboards/blueprints/cohorts)."""
        self._app("PUT", "dashboards/blueprints/cohorts", json={"cohorts": [_body(c) for c in cohorts]})

    def finalize_blueprint(self, params: t.BlueprintFinishParams | dict[str, Any]) -> t.Dashboard:
        """Finish a blueprint dashboard with its cards (POST /api/app/projects/{pid}/dashboards/blueprints/finish);
        returns the dashboard."""
        return _validate(t.Dashboard, self._app("POST", "dashboards/blueprints/finish", json=_body(params)),
                         "finalize_blueprint")

    def create_rca_dashboard(self, params: t.CreateRcaDashboardParams | dict[str, Any]) -> t.Dashboard:
        """Create a root-cause-analysis (RCA) dashboard (POST /api/app/projects/{pid}/dashboards/rca)."""
        return _validate(t.Dashboard, self._app("POST", "dashboards/rca", json=_body(params)), "create_rca_dashboard")

    def get_bookmark_dashboard_ids(self, bookmark_id: int) -> list[int]:
        """Ids of the dashboards that hold a report
        (GET /api/app/projects/{pid}/dashboards/bookmarks/{bookmark_id}/dashboard-ids)."""
        return [int(i) for i in self._app("GET", f"dashboards/bookmarks/{bookmark_id}/dashboard-ids") or []]

    def get_dashboard_erf(self, dashboard_id: int) -> dict[str, Any]:
        """ERF metrics data of a dashboard, as a plain dict (GET /api/app/projects/{pid}/dashboards/{id}/erf)."""
        return dict(self._app("GET", f"dashboards/{dashboard_id}/erf") or {})

    def update_report_link(self, dashboard_id: int, report_link_id: int, params: Any) -> None:
        """Change a report-link card of a dashboard
        (PATCH /api/app/projects/{pid}/dashboards/{id}/report-links/{report_link_id})."""
        self._app("PATCH", f"dashboards/{dashboard_id}/report-links/{report_link_id}", json=_body(params))

    def update_text_card(self, dashboard_id: int, text_card_id: int, params: Any) -> None:
        """Change a text card of a dashboard
        (PATCH /api/app/projects/{pid}/dashboards/{id}/text-cards/{text_card_id})."""
        self._app("PATCH", f"dashboards/{dashboard_id}/text-cards/{text_card_id}", json=_body(params))

    # ------------------------------------------------------------------------------------------------- reports
    def list_bookmarks_v2(self, *, bookmark_type: str | None = None,
                          ids: list[int] | None = None) -> list[t.Bookmark]:
        """Saved reports with their full params (GET /api/app/projects/{pid}/bookmarks?v=2).

        ``bookmark_type`` (insights, funnels, ...) and ``ids`` narrow the list."""
        params: dict[str, Any] = {"v": "2", "type": bookmark_type}
        if ids:
            params["ids"] = ",".join(str(i) for i in ids)
        return _validate_list(t.Bookmark, self._app("GET", "bookmarks", params=params), "list_bookmarks_v2")

    def create_bookmark(self, params: t.CreateBookmarkParams | dict[str, Any]) -> t.Bookmark:
        """Create a report and put it on its dashboard (POST /api/app/projects/{pid}/bookmarks, then
        ``add_report_to_dashboard``); ``dashboard_id`` is required, as in the seeds."""
        body = _body(params)
        if body.get("dashboard_id") is None:
            raise QueryError("dashboard_id is required when creating a bookmark: create a dashboard first "
                             "(create_dashboard) and pass its id", details={"field": "dashboard_id"})
        bookmark = _validate(t.Bookmark, self._app("POST", "bookmarks", json={**body, "v": 2}), "create_bookmark")
        self.add_report_to_dashboard(int(body["dashboard_id"]), bookmark.id)
        return bookmark

    def get_bookmark(self, bookmark_id: int) -> t.Bookmark:
        """One saved report by id (GET /api/app/projects/{pid}/bookmarks/{id}?v=2)."""
        return _validate(t.Bookmark, self._app("GET", f"bookmarks/{bookmark_id}", params={"v": "2"}), "get_bookmark")

    def update_bookmark(self, bookmark_id: int, params: t.UpdateBookmarkParams | dict[str, Any]) -> t.Bookmark:
        """Change a saved report (PATCH /api/app/projects/{pid}/bookmarks/{id}) and return it."""
        body = self._app("PATCH", f"bookmarks/{bookmark_id}", json={**_body(params), "v": 2})
        return _validate(t.Bookmark, body, "update_bookmark")

    def delete_bookmark(self, bookmark_id: int) -> None:
        """Delete a saved report (DELETE /api/app/projects/{pid}/bookmarks/{id})."""
        self._app("DELETE", f"bookmarks/{bookmark_id}")

    def bulk_delete_bookmarks(self, ids: list[int]) -> None:
        """Delete several saved reports in one call (POST /api/app/projects/{pid}/bookmarks/bulk-delete)."""
        self._app("POST", "bookmarks/bulk-delete", json={"bookmark_ids": list(ids)})

    def bulk_update_bookmarks(self, entries: list[t.BulkUpdateBookmarkEntry | dict[str, Any]]) -> None:
        """Change several saved reports in one call (POST /api/app/projects/{pid}/bookmarks/bulk-update)."""
        self._app("POST", "bookmarks/bulk-update", json={"bookmarks": [_body(e) for e in entries]})

    def bookmark_linked_dashboard_ids(self, bookmark_id: int) -> list[int]:
        """Ids of the dashboards linked to a report
        (GET /api/app/projects/{pid}/bookmarks/{id}/linked-dashboard-ids)."""
        return [int(i) for i in self._app("GET", f"bookmarks/{bookmark_id}/linked-dashboard-ids") or []]

    def get_bookmark_history(self, bookmark_id: int, *, cursor: str | None = None,
                             page_size: int | None = None) -> t.BookmarkHistoryResponse:
        """One page of a saved report's change history (GET /api/app/projects/{pid}/bookmarks/{id}/history).

        Pass the returned cursor as ``cursor`` for the next page; ``page_size`` sets its length."""
        path = self._api.maybe_scoped_path(f"bookmarks/{bookmark_id}/history")
        body = self._api.app_request("GET", path, params={"cursor": cursor, "page_size": page_size}, raw=True)
        if isinstance(body, dict) and isinstance(body.get("results"), dict):
            body = body["results"]  # the App envelope around {"results": [...], "pagination": {...}}
        return _validate(t.BookmarkHistoryResponse, body, "get_bookmark_history")

    # ------------------------------------------------------------------------------------------------- cohorts
    def list_cohorts_full(self, *, data_group_id: str | None = None,
                          ids: list[int] | None = None) -> list[t.Cohort]:
        """Cohorts with their full definitions (GET /api/app/projects/{pid}/cohorts).

        ``data_group_id`` and ``ids`` narrow the list."""
        params: dict[str, Any] = {"data_group_id": data_group_id}
        if ids:
            params["ids"] = ",".join(str(i) for i in ids)
        return _validate_list(t.Cohort, self._app("GET", "cohorts", params=params), "list_cohorts_full")

    def get_cohort(self, cohort_id: int) -> t.Cohort:
        """One cohort by id (GET /api/app/projects/{pid}/cohorts/{id})."""
        return _validate(t.Cohort, self._app("GET", f"cohorts/{cohort_id}"), "get_cohort")

    def create_cohort(self, params: t.CreateCohortParams | dict[str, Any]) -> t.Cohort:
        """Create a cohort (POST /api/app/projects/{pid}/cohorts) and return it."""
        return _validate(t.Cohort, self._app("POST", "cohorts", json=_body(params)), "create_cohort")

    def update_cohort(self, cohort_id: int, params: t.UpdateCohortParams | dict[str, Any]) -> t.Cohort:
        """Change a cohort (PATCH /api/app/projects/{pid}/cohorts/{id}) and return it."""
        return _validate(t.Cohort, self._app("PATCH", f"cohorts/{cohort_id}", json=_body(params)), "update_cohort")

    def delete_cohort(self, cohort_id: int) -> None:
        """Delete a cohort (DELETE /api/app/projects/{pid}/cohorts/{id})."""
        self._app("DELETE", f"cohorts/{cohort_id}")

    def bulk_delete_cohorts(self, ids: list[int]) -> None:
        """Delete several cohorts in one call (POST /api/app/projects/{pid}/cohorts/bulk-delete)."""
        self._app("POST", "cohorts/bulk-delete", json={"cohort_ids": list(ids)})

    def bulk_update_cohorts(self, entries: list[t.BulkUpdateCohortEntry | dict[str, Any]]) -> None:
        """Change several cohorts in one call (POST /api/app/projects/{pid}/cohorts/bulk-update)."""
        self._app("POST", "cohorts/bulk-update", json={"cohorts": [_body(e) for e in entries]})

    # ------------------------------------------------------------------------------------------------- flags
    def list_feature_flags(self, *, include_archived: bool = False) -> list[t.FeatureFlag]:
        """Feature flags of the workspace (GET /api/app/projects/{pid}/workspaces/{wid}/feature-flags/).

        ``include_archived=True`` adds archived flags; the workspace id is resolved if none is pinned."""
        params = {"include_archived": "true"} if include_archived else None
        body = self._app("GET", "feature-flags/", params=params, scope="require")
        return _validate_list(t.FeatureFlag, body, "list_feature_flags")

    def create_feature_flag(self, params: t.CreateFeatureFlagParams | dict[str, Any]) -> t.FeatureFlag:
        """Create a feature flag (POST /api/app/projects/{pid}/workspaces/{wid}/feature-flags/) and return it."""
        body = self._app("POST", "feature-flags/", json=_body(params), scope="require")
        return _validate(t.FeatureFlag, body, "create_feature_flag")

    def get_feature_flag(self, flag_id: str) -> t.FeatureFlag:
        """One feature flag by id (GET /api/app/projects/{pid}/workspaces/{wid}/feature-flags/{flag_id}/)."""
        return _validate(t.FeatureFlag, self._app("GET", f"feature-flags/{flag_id}/", scope="require"),
                         "get_feature_flag")

    def update_feature_flag(self, flag_id: str, params: t.UpdateFeatureFlagParams | dict[str, Any]) -> t.FeatureFlag:
        """Replace a feature flag's definition
        (PUT /api/app/projects/{pid}/workspaces/{wid}/feature-flags/{flag_id}/) and return it.

        A full replacement: send every field to keep (name, key, status, ruleset)."""
        body = self._app("PUT", f"feature-flags/{flag_id}/", json=_body(params), scope="require")
        return _validate(t.FeatureFlag, body, "update_feature_flag")

    def delete_feature_flag(self, flag_id: str) -> None:
        """Delete a feature flag (DELETE /api/app/projects/{pid}/workspaces/{wid}/feature-flags/{flag_id}/)."""
        self._app("DELETE", f"feature-flags/{flag_id}/", scope="require")

    def archive_feature_flag(self, flag_id: str) -> None:
        """Archive a feature flag (POST /api/app/projects/{pid}/workspaces/{wid}/feature-flags/{flag_id}/archive/)."""
        self._app("POST", f"feature-flags/{flag_id}/archive/", scope="require")

    def restore_feature_flag(self, flag_id: str) -> t.FeatureFlag:
        """Bring an archived feature flag back
        (DELETE /api/app/projects/{pid}/workspaces/{wid}/feature-flags/{flag_id}/archive/) and return it."""
        body = self._app("DELETE", f"feature-flags/{flag_id}/archive/", scope="require")
        return _validate(t.FeatureFlag, body, "restore_feature_flag")

    def duplicate_feature_flag(self, flag_id: str) -> t.FeatureFlag:
        """Copy a feature flag
        (POST /api/app/projects/{pid}/workspaces/{wid}/feature-flags/{flag_id}/duplicate/) and return the copy."""
        body = self._app("POST", f"feature-flags/{flag_id}/duplicate/", scope="require")
        return _validate(t.FeatureFlag, body, "duplicate_feature_flag")

    def set_flag_test_users(self, flag_id: str, params: t.SetTestUsersParams | dict[str, Any]) -> None:
        """Set which variant given test users get from a flag
        (PUT /api/app/projects/{pid}/workspaces/{wid}/feature-flags/{flag_id}/test-users/)."""
        self._app("PUT", f"feature-flags/{flag_id}/test-users/", json=_body(params), scope="require")

    def get_flag_history(self, flag_id: str, *, page: int | None = None,
                         page_size: int | None = None) -> t.FlagHistoryResponse:
        """One page of a feature flag's change history
        (GET /api/app/projects/{pid}/workspaces/{wid}/feature-flags/{flag_id}/history/)."""
        body = self._app("GET", f"feature-flags/{flag_id}/history/", params={"page": page, "page_size": page_size},
                         scope="require")
        return _validate(t.FlagHistoryResponse, body, "get_flag_history")

    def get_flag_limits(self) -> t.FlagLimitsResponse:
        """Feature flag limits and current usage (GET /api/app/projects/{pid}/feature-flags/limits/)."""
        return _validate(t.FlagLimitsResponse, self._app("GET", "feature-flags/limits/", scope="project"),
                         "get_flag_limits")

    # ------------------------------------------------------------------------------------------------- experiments
    def list_experiments(self, *, include_archived: bool = False) -> list[t.Experiment]:
        """Experiments of the project (GET /api/app/projects/{pid}/experiments/).

        ``include_archived=True`` adds archived ones."""
        params = {"include_archived": "true"} if include_archived else None
        return _validate_list(t.Experiment, self._app("GET", "experiments/", params=params), "list_experiments")

    def create_experiment(self, params: t.CreateExperimentParams | dict[str, Any]) -> t.Experiment:
        """Create an experiment, as a draft (POST /api/app/projects/{pid}/experiments/), and return it."""
        return _validate(t.Experiment, self._app("POST", "experiments/", json=_body(params)), "create_experiment")

    def get_experiment(self, experiment_id: str) -> t.Experiment:
        """One experiment by id (GET /api/app/projects/{pid}/experiments/{id})."""
        return _validate(t.Experiment, self._app("GET", f"experiments/{experiment_id}"), "get_experiment")

    def update_experiment(self, experiment_id: str,
                          params: t.UpdateExperimentParams | dict[str, Any]) -> t.Experiment:
        """Change an experiment (PATCH /api/app/projects/{pid}/experiments/{id}) and return it."""
        body = self._app("PATCH", f"experiments/{experiment_id}", json=_body(params))
        return _validate(t.Experiment, body, "update_experiment")

    def delete_experiment(self, experiment_id: str) -> None:
        """Delete an experiment (DELETE /api/app/projects/{pid}/experiments/{id})."""
        self._app("DELETE", f"experiments/{experiment_id}")

    def launch_experiment(self, experiment_id: str) -> t.Experiment:
        """Start an experiment, draft to active (PUT /api/app/projects/{pid}/experiments/{id}/launch); returns it."""
        return _validate(t.Experiment, self._app("PUT", f"experiments/{experiment_id}/launch"), "launch_experiment")

    def conclude_experiment(self, experiment_id: str, *,
                            params: t.ExperimentConcludeParams | dict[str, Any] | None = None) -> t.Experiment:
        """End a running experiment, active to concluded (PUT /api/app/projects/{pid}/experiments/{id}/force_conclude).

        A JSON body is always sent (``{}`` without ``params``); returns the experiment."""
        body = self._app("PUT", f"experiments/{experiment_id}/force_conclude",
                         json=_body(params) if params is not None else {})
        return _validate(t.Experiment, body, "conclude_experiment")

    def decide_experiment(self, experiment_id: str,
                          params: t.ExperimentDecideParams | dict[str, Any]) -> t.Experiment:
        """Record the outcome of a concluded experiment, success or fail
        (PATCH /api/app/projects/{pid}/experiments/{id}/decide); returns the experiment."""
        body = self._app("PATCH", f"experiments/{experiment_id}/decide", json=_body(params))
        return _validate(t.Experiment, body, "decide_experiment")

    def archive_experiment(self, experiment_id: str) -> None:
        """Archive an experiment (POST /api/app/projects/{pid}/experiments/{id}/archive)."""
        self._app("POST", f"experiments/{experiment_id}/archive")

    def restore_experiment(self, experiment_id: str) -> t.Experiment:
        """Bring an archived experiment back (DELETE /api/app/projects/{pid}/experiments/{id}/archive) and return it."""
        return _validate(t.Experiment, self._app("DELETE", f"experiments/{experiment_id}/archive"),
                         "restore_experiment")

    def duplicate_experiment(self, experiment_id: str,
                             params: t.DuplicateExperimentParams | dict[str, Any]) -> t.Experiment:
        """Copy an experiment (POST /api/app/projects/{pid}/experiments/{id}/duplicate) and return the copy."""
        body = self._app("POST", f"experiments/{experiment_id}/duplicate", json=_body(params))
        return _validate(t.Experiment, body, "duplicate_experiment")

    def list_erf_experiments(self) -> list[dict[str, Any]]:
        """Experiments in ERF (Experiment Results Framework) form, as plain dicts
        (GET /api/app/projects/{pid}/experiments/erf/)."""
        return list(self._app("GET", "experiments/erf/") or [])

    # ------------------------------------------------------------------------------------------------- annotations
    def list_annotations(self, *, from_date: str | None = None, to_date: str | None = None,
                         tags: list[int] | None = None) -> list[t.Annotation]:
        """Annotations of the project (GET /api/app/projects/{pid}/annotations/).

        ``from_date``/``to_date`` bound the dates; ``tags`` keeps annotations with those tag ids."""
        params: dict[str, Any] = {"fromDate": from_date, "toDate": to_date}
        if tags:
            params["tags"] = ",".join(str(x) for x in tags)
        return _validate_list(t.Annotation, self._app("GET", "annotations/", params=params), "list_annotations")

    def create_annotation(self, params: t.CreateAnnotationParams | dict[str, Any]) -> t.Annotation:
        """Create an annotation (POST /api/app/projects/{pid}/annotations/) and return it."""
        return _validate(t.Annotation, self._app("POST", "annotations/", json=_body(params)), "create_annotation")

    def get_annotation(self, annotation_id: int) -> t.Annotation:
        """One annotation by id (GET /api/app/projects/{pid}/annotations/{id}/)."""
        return _validate(t.Annotation, self._app("GET", f"annotations/{annotation_id}/"), "get_annotation")

    def update_annotation(self, annotation_id: int,
                          params: t.UpdateAnnotationParams | dict[str, Any]) -> t.Annotation:
        """Change an annotation (PATCH /api/app/projects/{pid}/annotations/{id}/) and return it."""
        body = self._app("PATCH", f"annotations/{annotation_id}/", json=_body(params))
        return _validate(t.Annotation, body, "update_annotation")

    def delete_annotation(self, annotation_id: int) -> None:
        """Delete an annotation (DELETE /api/app/projects/{pid}/annotations/{id}/)."""
        self._app("DELETE", f"annotations/{annotation_id}/")

    def list_annotation_tags(self) -> list[t.AnnotationTag]:
        """Annotation tags of the project (GET /api/app/projects/{pid}/annotations/tags/)."""
        return _validate_list(t.AnnotationTag, self._app("GET", "annotations/tags/"), "list_annotation_tags")

    def create_annotation_tag(self, params: t.CreateAnnotationTagParams | dict[str, Any]) -> t.AnnotationTag:
        """Create an annotation tag (POST /api/app/projects/{pid}/annotations/tags/) and return it."""
        body = self._app("POST", "annotations/tags/", json=_body(params))
        return _validate(t.AnnotationTag, body, "create_annotation_tag")

    # ------------------------------------------------------------------------------------------------- alerts
    def list_alerts(self, *, bookmark_id: int | None = None,
                    skip_user_filter: bool | None = None) -> list[t.CustomAlert]:
        """Custom alerts of the project (GET /api/app/projects/{pid}/alerts/custom/).

        ``bookmark_id`` keeps the alerts of one report; ``skip_user_filter`` is passed through as is."""
        params: dict[str, Any] = {"bookmark_id": None if bookmark_id is None else str(bookmark_id),
                                  "skip_user_filter": None if skip_user_filter is None else
                                  str(skip_user_filter).lower()}
        return _validate_list(t.CustomAlert, self._app("GET", "alerts/custom/", params=params), "list_alerts")

    def create_alert(self, params: t.CreateAlertParams | dict[str, Any]) -> t.CustomAlert:
        """Create a custom alert (POST /api/app/projects/{pid}/alerts/custom/) and return it."""
        return _validate(t.CustomAlert, self._app("POST", "alerts/custom/", json=_body(params)), "create_alert")

    def get_alert(self, alert_id: int) -> t.CustomAlert:
        """One custom alert by id (GET /api/app/projects/{pid}/alerts/custom/{id}/)."""
        return _validate(t.CustomAlert, self._app("GET", f"alerts/custom/{alert_id}/"), "get_alert")

    def update_alert(self, alert_id: int, params: t.UpdateAlertParams | dict[str, Any]) -> t.CustomAlert:
        """Change a custom alert (PATCH /api/app/projects/{pid}/alerts/custom/{id}/) and return it."""
        return _validate(t.CustomAlert, self._app("PATCH", f"alerts/custom/{alert_id}/", json=_body(params)),
                         "update_alert")

    def delete_alert(self, alert_id: int) -> None:
        """Delete a custom alert (DELETE /api/app/projects/{pid}/alerts/custom/{id}/)."""
        self._app("DELETE", f"alerts/custom/{alert_id}/")

    def bulk_delete_alerts(self, ids: list[int]) -> None:
        """Delete several custom alerts in one call (POST /api/app/projects/{pid}/alerts/custom/bulk-delete/)."""
        self._app("POST", "alerts/custom/bulk-delete/", json={"alert_ids": list(ids)})

    def get_alert_count(self, *, alert_type: str | None = None) -> t.AlertCount:
        """How many custom alerts exist and the limit on them (GET /api/app/projects/{pid}/alerts/custom/alert-count/).

        ``alert_type`` counts only that type."""
        return _validate(t.AlertCount, self._app("GET", "alerts/custom/alert-count/", params={"type": alert_type}),
                         "get_alert_count")

    def get_alert_history(self, alert_id: int, *, page_size: int | None = None, next_cursor: str | None = None,
                          previous_cursor: str | None = None) -> t.AlertHistoryResponse:
        """One page of a custom alert's trigger history (GET /api/app/projects/{pid}/alerts/custom/{id}/history/).

        Page with ``next_cursor``/``previous_cursor``; ``page_size`` sets the page length."""
        path = self._api.maybe_scoped_path(f"alerts/custom/{alert_id}/history/")
        params = {"page_size": None if page_size is None else str(page_size), "next_cursor": next_cursor,
                  "previous_cursor": previous_cursor}
        body = self._api.app_request("GET", path, params=params, raw=True)
        if isinstance(body, dict) and isinstance(body.get("results"), dict):
            body = body["results"]  # the App envelope around {"results": [...], "pagination": {...}}
        return _validate(t.AlertHistoryResponse, body, "get_alert_history")

    def test_alert(self, params: t.CreateAlertParams | dict[str, Any]) -> dict[str, Any]:
        """Send a test notification for an alert definition (POST /api/app/projects/{pid}/alerts/custom/test/).

        ``params`` has the shape of ``create_alert``'s; the server's answer comes back as a dict."""
        return dict(self._app("POST", "alerts/custom/test/", json=_body(params)) or {})

    def get_alert_screenshot_url(self, gcs_key: str) -> t.AlertScreenshotResponse:
        """Signed URL of an alert screenshot, by its storage key
        (GET /api/app/projects/{pid}/alerts/custom/screenshot/?gcs_key=...)."""
        body = self._app("GET", "alerts/custom/screenshot/", params={"gcs_key": gcs_key})
        return _validate(t.AlertScreenshotResponse, body, "get_alert_screenshot_url")

    def validate_alerts_for_bookmark(self, params: t.ValidateAlertsForBookmarkParams | dict[str, Any]
                                     ) -> t.ValidateAlertsForBookmarkResponse:
        """Check a report's alerts against a new report definition
        (POST /api/app/projects/{pid}/alerts/custom/validate-alerts-for-bookmark/)."""
        body = self._app("POST", "alerts/custom/validate-alerts-for-bookmark/", json=_body(params))
        return _validate(t.ValidateAlertsForBookmarkResponse, body, "validate_alerts_for_bookmark")

    # ------------------------------------------------------------------------------------------------- webhooks
    def list_webhooks(self) -> list[t.ProjectWebhook]:
        """Webhooks of the project (GET /api/app/projects/{pid}/webhooks/)."""
        return _validate_list(t.ProjectWebhook, self._app("GET", "webhooks/"), "list_webhooks")

    def create_webhook(self, params: t.CreateWebhookParams | dict[str, Any]) -> t.WebhookMutationResult:
        """Create a webhook (POST /api/app/projects/{pid}/webhooks/); returns the server's mutation result."""
        body = self._app("POST", "webhooks/", json=_body(params))
        return _validate(t.WebhookMutationResult, body, "create_webhook")

    def update_webhook(self, webhook_id: str,
                       params: t.UpdateWebhookParams | dict[str, Any]) -> t.WebhookMutationResult:
        """Change a webhook (PATCH /api/app/projects/{pid}/webhooks/{id}/); returns the server's mutation result."""
        body = self._app("PATCH", f"webhooks/{webhook_id}/", json=_body(params))
        return _validate(t.WebhookMutationResult, body, "update_webhook")

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook (DELETE /api/app/projects/{pid}/webhooks/{id}/)."""
        self._app("DELETE", f"webhooks/{webhook_id}/")

    def test_webhook(self, params: t.WebhookTestParams | dict[str, Any]) -> t.WebhookTestResult:
        """Send a test request to a webhook URL (POST /api/app/projects/{pid}/webhooks/test/) and return the outcome."""
        return _validate(t.WebhookTestResult, self._app("POST", "webhooks/test/", json=_body(params)),
                         "test_webhook")
