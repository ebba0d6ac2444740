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
    """The App API's saved entities, one section per kind."""

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
        params = {"ids": ",".join(str(i) for i in ids)} if ids else None
        return _validate_list(t.Dashboard, self._app("GET", "dashboards", params=params), "list_dashboards")

    def create_dashboard(self, params: t.CreateDashboardParams | dict[str, Any]) -> t.Dashboard:
        return _validate(t.Dashboard, self._app("POST", "dashboards", json=_body(params)), "create_dashboard")

    def get_dashboard(self, dashboard_id: int) -> t.Dashboard:
        return _validate(t.Dashboard, self._app("GET", f"dashboards/{dashboard_id}"), "get_dashboard")

    def update_dashboard(self, dashboard_id: int, params: t.UpdateDashboardParams | dict[str, Any]) -> t.Dashboard:
        body = self._app("PATCH", f"dashboards/{dashboard_id}", json=_body(params))
        return _validate(t.Dashboard, body, "update_dashboard")

    def delete_dashboard(self, dashboard_id: int) -> None:
        self._app("DELETE", f"dashboards/{dashboard_id}")

    def bulk_delete_dashboards(self, ids: list[int]) -> None:
        self._app("POST", "dashboards/bulk-delete", json={"dashboard_ids": list(ids)})

    def favorite_dashboard(self, dashboard_id: int) -> None:
        self._app("POST", f"dashboards/{dashboard_id}/favorites")

    def unfavorite_dashboard(self, dashboard_id: int) -> None:
        self._app("DELETE", f"dashboards/{dashboard_id}/favorites")

    def pin_dashboard(self, dashboard_id: int) -> None:
        self._app("POST", f"dashboards/{dashboard_id}/pin")

    def unpin_dashboard(self, dashboard_id: int) -> None:
        self._app("DELETE", f"dashboards/{dashboard_id}/pin")

    def add_report_to_dashboard(self, dashboard_id: int, bookmark_id: int) -> t.Dashboard:
        body = self._app("PATCH", f"dashboards/{dashboard_id}", json={"content": {
            "action": "create", "content_type": "report", "content_params": {"source_bookmark_id": bookmark_id}}})
        return _validate(t.Dashboard, body, "add_report_to_dashboard")

    def remove_report_from_dashboard(self, dashboard_id: int, bookmark_id: int) -> t.Dashboard:
        body = self._app("PATCH", f"dashboards/{dashboard_id}", json={"content": {
            "action": "delete", "content_type": "report", "content_id": bookmark_id}})
        return _validate(t.Dashboard, body, "remove_report_from_dashboard")

    def list_blueprint_templates(self, *, include_reports: bool = False) -> list[t.BlueprintTemplate]:
        params = {"include_reports": "true"} if include_reports else None
        body = self._app("GET", "dashboards/blueprints-all", params=params)
        if isinstance(body, dict):
            templates = body.get("templates") or {}
            body = [{"name": name, **spec} for name, spec in templates.items() if isinstance(spec, dict)]
        return _validate_list(t.BlueprintTemplate, body or [], "list_blueprint_templates")

    def create_blueprint(self, template_type: str) -> t.Dashboard:
        body = self._app("POST", "dashboards/blueprints", json={"template_type": template_type})
        return _validate(t.Dashboard, body, "create_blueprint")

    def get_blueprint_config(self, dashboard_id: int) -> t.BlueprintConfig:
        body = self._app("GET", f"dashboards/{dashboard_id}/blueprint-config")
        return _validate(t.BlueprintConfig, body, "get_blueprint_config")

    def update_blueprint_cohorts(self, cohorts: list[dict[str, Any]]) -> None:
        self._app("PUT", "dashboards/blueprints/cohorts", json={"cohorts": [_body(c) for c in cohorts]})

    def finalize_blueprint(self, params: t.BlueprintFinishParams | dict[str, Any]) -> t.Dashboard:
        return _validate(t.Dashboard, self._app("POST", "dashboards/blueprints/finish", json=_body(params)),
                         "finalize_blueprint")

    def create_rca_dashboard(self, params: t.CreateRcaDashboardParams | dict[str, Any]) -> t.Dashboard:
        return _validate(t.Dashboard, self._app("POST", "dashboards/rca", json=_body(params)), "create_rca_dashboard")

    def get_bookmark_dashboard_ids(self, bookmark_id: int) -> list[int]:
        return [int(i) for i in self._app("GET", f"dashboards/bookmarks/{bookmark_id}/dashboard-ids") or []]

    def get_dashboard_erf(self, dashboard_id: int) -> dict[str, Any]:
        return dict(self._app("GET", f"dashboards/{dashboard_id}/erf") or {})

    def update_report_link(self, dashboard_id: int, report_link_id: int, params: Any) -> None:
        self._app("PATCH", f"dashboards/{dashboard_id}/report-links/{report_link_id}", json=_body(params))

    def update_text_card(self, dashboard_id: int, text_card_id: int, params: Any) -> None:
        self._app("PATCH", f"dashboards/{dashboard_id}/text-cards/{text_card_id}", json=_body(params))

    # ------------------------------------------------------------------------------------------------- reports
    def list_bookmarks_v2(self, *, bookmark_type: str | None = None,
                          ids: list[int] | None = None) -> list[t.Bookmark]:
        params: dict[str, Any] = {"v": "2", "type": bookmark_type}
        if ids:
            params["ids"] = ",".join(str(i) for i in ids)
        return _validate_list(t.Bookmark, self._app("GET", "bookmarks", params=params), "list_bookmarks_v2")

    def create_bookmark(self, params: t.CreateBookmarkParams | dict[str, Any]) -> t.Bookmark:
        """Create a report and put it on its dashboard (``dashboard_id`` is required, as in the seeds)."""
        body = _body(params)
        if body.get("dashboard_id") is None:
            raise QueryError("dashboard_id is required when creating a bookmark: create a dashboard first "
                             "(create_dashboard) and pass its id", details={"field": "dashboard_id"})
        bookmark = _validate(t.Bookmark, self._app("POST", "bookmarks", json={**body, "v": 2}), "create_bookmark")
        self.add_report_to_dashboard(int(body["dashboard_id"]), bookmark.id)
        return bookmark

    def get_bookmark(self, bookmark_id: int) -> t.Bookmark:
        return _validate(t.Bookmark, self._app("GET", f"bookmarks/{bookmark_id}", params={"v": "2"}), "get_bookmark")

    def update_bookmark(self, bookmark_id: int, params: t.UpdateBookmarkParams | dict[str, Any]) -> t.Bookmark:
        body = self._app("PATCH", f"bookmarks/{bookmark_id}", json={**_body(params), "v": 2})
        return _validate(t.Bookmark, body, "update_bookmark")

    def delete_bookmark(self, bookmark_id: int) -> None:
        self._app("DELETE", f"bookmarks/{bookmark_id}")

    def bulk_delete_bookmarks(self, ids: list[int]) -> None:
        self._app("POST", "bookmarks/bulk-delete", json={"bookmark_ids": list(ids)})

    def bulk_update_bookmarks(self, entries: list[t.BulkUpdateBookmarkEntry | dict[str, Any]]) -> None:
        self._app("POST", "bookmarks/bulk-update", json={"bookmarks": [_body(e) for e in entries]})

    def bookmark_linked_dashboard_ids(self, bookmark_id: int) -> list[int]:
        return [int(i) for i in self._app("GET", f"bookmarks/{bookmark_id}/linked-dashboard-ids") or []]

    def get_bookmark_history(self, bookmark_id: int, *, cursor: str | None = None,
                             page_size: int | None = None) -> t.BookmarkHistoryResponse:
        path = self._api.maybe_scoped_path(f"bookmarks/{bookmark_id}/history")
        body = self._api.app_request("GET", path, params={"cursor": cursor, "page_size": page_size}, raw=True)
        if isinstance(body, dict) and isinstance(body.get("results"), dict):
            body = body["results"]  # the App envelope around {"results": [...], "pagination": {...}}
        return _validate(t.BookmarkHistoryResponse, body, "get_bookmark_history")

    # ------------------------------------------------------------------------------------------------- cohorts
    def list_cohorts_full(self, *, data_group_id: str | None = None,
                          ids: list[int] | None = None) -> list[t.Cohort]:
        params: dict[str, Any] = {"data_group_id": data_group_id}
        if ids:
            params["ids"] = ",".join(str(i) for i in ids)
        return _validate_list(t.Cohort, self._app("GET", "cohorts", params=params), "list_cohorts_full")

    def get_cohort(self, cohort_id: int) -> t.Cohort:
        return _validate(t.Cohort, self._app("GET", f"cohorts/{cohort_id}"), "get_cohort")

    def create_cohort(self, params: t.CreateCohortParams | dict[str, Any]) -> t.Cohort:
        return _validate(t.Cohort, self._app("POST", "cohorts", json=_body(params)), "create_cohort")

    def update_cohort(self, cohort_id: int, params: t.UpdateCohortParams | dict[str, Any]) -> t.Cohort:
        return _validate(t.Cohort, self._app("PATCH", f"cohorts/{cohort_id}", json=_body(params)), "update_cohort")

    def delete_cohort(self, cohort_id: int) -> None:
        self._app("DELETE", f"cohorts/{cohort_id}")

    def bulk_delete_cohorts(self, ids: list[int]) -> None:
        self._app("POST", "cohorts/bulk-delete", json={"cohort_ids": list(ids)})

    def bulk_update_cohorts(self, entries: list[t.BulkUpdateCohortEntry | dict[str, Any]]) -> None:
        self._app("POST", "cohorts/bulk-update", json={"cohorts": [_body(e) for e in entries]})

    # ------------------------------------------------------------------------------------------------- flags
    def list_feature_flags(self, *, include_archived: bool = False) -> list[t.FeatureFlag]:
        params = {"include_archived": "true"} if include_archived else None
        body = self._app("GET", "feature-flags/", params=params, scope="require")
        return _validate_list(t.FeatureFlag, body, "list_feature_flags")

    def create_feature_flag(self, params: t.CreateFeatureFlagParams | dict[str, Any]) -> t.FeatureFlag:
        body = self._app("POST", "feature-flags/", json=_body(params), scope="require")
        return _validate(t.FeatureFlag, body, "create_feature_flag")

    def get_feature_flag(self, flag_id: str) -> t.FeatureFlag:
        return _validate(t.FeatureFlag, self._app("GET", f"feature-flags/{flag_id}/", scope="require"),
                         "get_feature_flag")

    def update_feature_flag(self, flag_id: str, params: t.UpdateFeatureFlagParams | dict[str, Any]) -> t.FeatureFlag:
        body = self._app("PUT", f"feature-flags/{flag_id}/", json=_body(params), scope="require")
        return _validate(t.FeatureFlag, body, "update_feature_flag")

    def delete_feature_flag(self, flag_id: str) -> None:
        self._app("DELETE", f"feature-flags/{flag_id}/", scope="require")

    def archive_feature_flag(self, flag_id: str) -> None:
        self._app("POST", f"feature-flags/{flag_id}/archive/", scope="require")

    def restore_feature_flag(self, flag_id: str) -> t.FeatureFlag:
        body = self._app("DELETE", f"feature-flags/{flag_id}/archive/", scope="require")
        return _validate(t.FeatureFlag, body, "restore_feature_flag")

    def duplicate_feature_flag(self, flag_id: str) -> t.FeatureFlag:
        body = self._app("POST", f"feature-flags/{flag_id}/duplicate/", scope="require")
        return _validate(t.FeatureFlag, body, "duplicate_feature_flag")

    def set_flag_test_users(self, flag_id: str, params: t.SetTestUsersParams | dict[str, Any]) -> None:
        self._app("PUT", f"feature-flags/{flag_id}/test-users/", json=_body(params), scope="require")

    def get_flag_history(self, flag_id: str, *, page: int | None = None,
                         page_size: int | None = None) -> t.FlagHistoryResponse:
        body = self._app("GET", f"feature-flags/{flag_id}/history/", params={"page": page, "page_size": page_size},
                         scope="require")
        return _validate(t.FlagHistoryResponse, body, "get_flag_history")

    def get_flag_limits(self) -> t.FlagLimitsResponse:
        return _validate(t.FlagLimitsResponse, self._app("GET", "feature-flags/limits/", scope="project"),
                         "get_flag_limits")

    # ------------------------------------------------------------------------------------------------- experiments
    def list_experiments(self, *, include_archived: bool = False) -> list[t.Experiment]:
        params = {"include_archived": "true"} if include_archived else None
        return _validate_list(t.Experiment, self._app("GET", "experiments/", params=params), "list_experiments")

    def create_experiment(self, params: t.CreateExperimentParams | dict[str, Any]) -> t.Experiment:
        return _validate(t.Experiment, self._app("POST", "experiments/", json=_body(params)), "create_experiment")

    def get_experiment(self, experiment_id: str) -> t.Experiment:
        return _validate(t.Experiment, self._app("GET", f"experiments/{experiment_id}"), "get_experiment")

    def update_experiment(self, experiment_id: str,
                          params: t.UpdateExperimentParams | dict[str, Any]) -> t.Experiment:
        body = self._app("PATCH", f"experiments/{experiment_id}", json=_body(params))
        return _validate(t.Experiment, body, "update_experiment")

    def delete_experiment(self, experiment_id: str) -> None:
        self._app("DELETE", f"experiments/{experiment_id}")

    def launch_experiment(self, experiment_id: str) -> t.Experiment:
        return _validate(t.Experiment, self._app("PUT", f"experiments/{experiment_id}/launch"), "launch_experiment")

    def conclude_experiment(self, experiment_id: str, *,
                            params: t.ExperimentConcludeParams | dict[str, Any] | None = None) -> t.Experiment:
        body = self._app("PUT", f"experiments/{experiment_id}/force_conclude",
                         json=_body(params) if params is not None else {})
        return _validate(t.Experiment, body, "conclude_experiment")

    def decide_experiment(self, experiment_id: str,
                          params: t.ExperimentDecideParams | dict[str, Any]) -> t.Experiment:
        body = self._app("PATCH", f"experiments/{experiment_id}/decide", json=_body(params))
        return _validate(t.Experiment, body, "decide_experiment")

    def archive_experiment(self, experiment_id: str) -> None:
        self._app("POST", f"experiments/{experiment_id}/archive")

    def restore_experiment(self, experiment_id: str) -> t.Experiment:
        return _validate(t.Experiment, self._app("DELETE", f"experiments/{experiment_id}/archive"),
                         "restore_experiment")

    def duplicate_experiment(self, experiment_id: str,
                             params: t.DuplicateExperimentParams | dict[str, Any]) -> t.Experiment:
        body = self._app("POST", f"experiments/{experiment_id}/duplicate", json=_body(params))
        return _validate(t.Experiment, body, "duplicate_experiment")

    def list_erf_experiments(self) -> list[dict[str, Any]]:
        return list(self._app("GET", "experiments/erf/") or [])

    # ------------------------------------------------------------------------------------------------- annotations
    def list_annotations(self, *, from_date: str | None = None, to_date: str | None = None,
                         tags: list[int] | None = None) -> list[t.Annotation]:
        params: dict[str, Any] = {"fromDate": from_date, "toDate": to_date}
        if tags:
            params["tags"] = ",".join(str(x) for x in tags)
        return _validate_list(t.Annotation, self._app("GET", "annotations/", params=params), "list_annotations")

    def create_annotation(self, params: t.CreateAnnotationParams | dict[str, Any]) -> t.Annotation:
        return _validate(t.Annotation, self._app("POST", "annotations/", json=_body(params)), "create_annotation")

    def get_annotation(self, annotation_id: int) -> t.Annotation:
        return _validate(t.Annotation, self._app("GET", f"annotations/{annotation_id}/"), "get_annotation")

    def update_annotation(self, annotation_id: int,
                          params: t.UpdateAnnotationParams | dict[str, Any]) -> t.Annotation:
        body = self._app("PATCH", f"annotations/{annotation_id}/", json=_body(params))
        return _validate(t.Annotation, body, "update_annotation")

    def delete_annotation(self, annotation_id: int) -> None:
        self._app("DELETE", f"annotations/{annotation_id}/")

    def list_annotation_tags(self) -> list[t.AnnotationTag]:
        return _validate_list(t.AnnotationTag, self._app("GET", "annotations/tags/"), "list_annotation_tags")

    def create_annotation_tag(self, params: t.CreateAnnotationTagParams | dict[str, Any]) -> t.AnnotationTag:
        body = self._app("POST", "annotations/tags/", json=_body(params))
        return _validate(t.AnnotationTag, body, "create_annotation_tag")

    # ------------------------------------------------------------------------------------------------- alerts
    def list_alerts(self, *, bookmark_id: int | None = None,
                    skip_user_filter: bool | None = None) -> list[t.CustomAlert]:
        params: dict[str, Any] = {"bookmark_id": None if bookmark_id is None else str(bookmark_id),
                                  "skip_user_filter": None if skip_user_filter is None else
                                  str(skip_user_filter).lower()}
        return _validate_list(t.CustomAlert, self._app("GET", "alerts/custom/", params=params), "list_alerts")

    def create_alert(self, params: t.CreateAlertParams | dict[str, Any]) -> t.CustomAlert:
        return _validate(t.CustomAlert, self._app("POST", "alerts/custom/", json=_body(params)), "create_alert")

    def get_alert(self, alert_id: int) -> t.CustomAlert:
        return _validate(t.CustomAlert, self._app("GET", f"alerts/custom/{alert_id}/"), "get_alert")

    def update_alert(self, alert_id: int, params: t.UpdateAlertParams | dict[str, Any]) -> t.CustomAlert:
        return _validate(t.CustomAlert, self._app("PATCH", f"alerts/custom/{alert_id}/", json=_body(params)),
                         "update_alert")

    def delete_alert(self, alert_id: int) -> None:
        self._app("DELETE", f"alerts/custom/{alert_id}/")

    def bulk_delete_alerts(self, ids: list[int]) -> None:
        self._app("POST", "alerts/custom/bulk-delete/", json={"alert_ids": list(ids)})

    def get_alert_count(self, *, alert_type: str | None = None) -> t.AlertCount:
        return _validate(t.AlertCount, self._app("GET", "alerts/custom/alert-count/", params={"type": alert_type}),
                         "get_alert_count")

    def get_alert_history(self, alert_id: int, *, page_size: int | None = None, next_cursor: str | None = None,
                          previous_cursor: str | None = None) -> t.AlertHistoryResponse:
        path = self._api.maybe_scoped_path(f"alerts/custom/{alert_id}/history/")
        params = {"page_size": None if page_size is None else str(page_size), "next_cursor": next_cursor,
                  "previous_cursor": previous_cursor}
        body = self._api.app_request("GET", path, params=params, raw=True)
        if isinstance(body, dict) and isinstance(body.get("results"), dict):
            body = body["results"]  # the App envelope around {"results": [...], "pagination": {...}}
        return _validate(t.AlertHistoryResponse, body, "get_alert_history")

    def test_alert(self, params: t.CreateAlertParams | dict[str, Any]) -> dict[str, Any]:
        return dict(self._app("POST", "alerts/custom/test/", json=_body(params)) or {})

    def get_alert_screenshot_url(self, gcs_key: str) -> t.AlertScreenshotResponse:
        body = self._app("GET", "alerts/custom/screenshot/", params={"gcs_key": gcs_key})
        return _validate(t.AlertScreenshotResponse, body, "get_alert_screenshot_url")

    def validate_alerts_for_bookmark(self, params: t.ValidateAlertsForBookmarkParams | dict[str, Any]
                                     ) -> t.ValidateAlertsForBookmarkResponse:
        body = self._app("POST", "alerts/custom/validate-alerts-for-bookmark/", json=_body(params))
        return _validate(t.ValidateAlertsForBookmarkResponse, body, "validate_alerts_for_bookmark")

    # ------------------------------------------------------------------------------------------------- webhooks
    def list_webhooks(self) -> list[t.ProjectWebhook]:
        return _validate_list(t.ProjectWebhook, self._app("GET", "webhooks/"), "list_webhooks")

    def create_webhook(self, params: t.CreateWebhookParams | dict[str, Any]) -> t.WebhookMutationResult:
        body = self._app("POST", "webhooks/", json=_body(params))
        return _validate(t.WebhookMutationResult, body, "create_webhook")

    def update_webhook(self, webhook_id: str,
                       params: t.UpdateWebhookParams | dict[str, Any]) -> t.WebhookMutationResult:
        body = self._app("PATCH", f"webhooks/{webhook_id}/", json=_body(params))
        return _validate(t.WebhookMutationResult, body, "update_webhook")

    def delete_webhook(self, webhook_id: str) -> None:
        self._app("DELETE", f"webhooks/{webhook_id}/")

    def test_webhook(self, params: t.WebhookTestParams | dict[str, Any]) -> t.WebhookTestResult:
        return _validate(t.WebhookTestResult, self._app("POST", "webhooks/test/", json=_body(params)),
                         "test_webhook")
