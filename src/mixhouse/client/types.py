"""Typed results and params of the Workspace client (pydantic, ``extra="allow"``: unknown keys are kept).

Every result keeps the JSON it was built from (``.raw``) and builds a pandas DataFrame on first use of ``.df``
(pandas is imported then, never at ``import mixhouse``).
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:  # pragma: no cover - pandas is a base dependency
        from mixhouse.errors import ConfigError

        raise ConfigError("`.df` needs pandas: pip install pandas") from exc



def series_rows(series: dict[str, dict[str, float]], label: str) -> tuple[list[dict[str, Any]], list[str]]:
    """``{key: {date: count}}`` as rows of date, ``label`` (the key) and count, by date then key."""
    rows = [{"date": day, label: key, "count": count}
            for key, values in series.items() for day, count in values.items()]
    return sorted(rows, key=lambda r: (r["date"], r[label])), ["date", label, "count"]

class Model(BaseModel):
    """An entity or a result row: the fields the seeds require, plus whatever else the server sent."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Result(Model):
    """A query result: ``raw`` is the JSON answer, ``df`` a lazily built DataFrame."""

    _raw: Any = PrivateAttr(default=None)
    _df: Any = PrivateAttr(default=None)

    @property
    def raw(self) -> Any:
        return self._raw

    def with_raw(self, raw: Any) -> Self:
        self._raw = raw
        return self

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return [self.to_dict()], None

    @property
    def df(self) -> Any:
        """A pandas DataFrame of the result (built once, on first access)."""
        if self._df is None:
            rows, columns = self._frame_rows()
            self._df = _pandas().DataFrame(rows, columns=columns)
        return self._df


def frame(rows: list[Model] | list[dict[str, Any]]) -> Any:
    """A DataFrame of a list of models (what list methods return)."""
    data = [row.to_dict() if isinstance(row, BaseModel) else row for row in rows]
    return _pandas().DataFrame(data)


# ------------------------------------------------------------------------------------------------------ discovery


class FunnelInfo(Model):
    funnel_id: int
    name: str


class SavedCohort(Model):
    id: int
    name: str
    count: int = 0
    description: str = ""
    created: str = ""
    is_visible: bool = True


class TopEvent(Model):
    event: str
    count: int
    percent_change: float = 0.0


class BookmarkInfo(Model):
    id: int
    name: str
    type: str
    project_id: int
    created: str = ""
    modified: str = ""
    workspace_id: int | None = None
    dashboard_id: int | None = None
    description: str | None = None
    creator_id: int | None = None
    creator_name: str | None = None


class SubPropertyInfo(Model):
    name: str
    type: str
    sample_values: tuple[Any, ...] = ()


class PublicWorkspace(Model):
    id: int
    name: str
    project_id: int
    is_default: bool = False
    description: str | None = None
    is_global: bool | None = None
    is_restricted: bool | None = None
    is_visible: bool | None = None
    created_iso: str | None = None
    creator_name: str | None = None


class ProjectInfo(Model):
    """One project of ``me()`` (``Workspace.projects()``)."""

    id: str
    name: str | None = None
    organization_id: int | None = None
    timezone: str | None = None
    has_workspaces: bool | None = None
    role: str | None = None


class WorkspaceInfo(Model):
    """One workspace of ``me()`` (``Workspace.workspaces()``)."""

    id: int
    name: str | None = None
    project_id: int | None = None
    is_default: bool | None = None
    is_global: bool | None = None
    is_restricted: bool | None = None
    is_visible: bool | None = None


# ----------------------------------------------------------------------------------------------------- live queries


class SegmentationResult(Result):
    event: str
    from_date: str
    to_date: str
    unit: str = "day"
    segment_property: str | None = None
    total: float = 0
    series: dict[str, dict[str, float]] = Field(default_factory=dict)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return series_rows(self.series, "segment")


class EventCountsResult(Result):
    events: list[str]
    from_date: str
    to_date: str
    unit: str = "day"
    type: str = "general"
    series: dict[str, dict[str, float]] = Field(default_factory=dict)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return series_rows(self.series, "event")


class PropertyCountsResult(Result):
    event: str
    property_name: str
    from_date: str
    to_date: str
    unit: str = "day"
    type: str = "general"
    series: dict[str, dict[str, float]] = Field(default_factory=dict)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return series_rows(self.series, "value")


class FunnelResultStep(Model):
    event: str
    count: int
    conversion_rate: float = 0.0


class FunnelResult(Result):
    funnel_id: int
    funnel_name: str = ""
    from_date: str
    to_date: str
    conversion_rate: float = 0.0
    steps: list[FunnelResultStep] = Field(default_factory=list)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return [{"step": i + 1, **s.to_dict()} for i, s in enumerate(self.steps)], None


class CohortInfo(Model):
    date: str
    size: int
    retention: list[float] = Field(default_factory=list)


class RetentionResult(Result):
    born_event: str
    return_event: str
    from_date: str
    to_date: str
    unit: str = "day"
    cohorts: list[CohortInfo] = Field(default_factory=list)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        rows = []
        for cohort in self.cohorts:
            row: dict[str, Any] = {"date": cohort.date, "size": cohort.size}
            row.update({f"period_{i}": rate for i, rate in enumerate(cohort.retention)})
            rows.append(row)
        return rows, None


class FrequencyResult(Result):
    event: str | None = None
    from_date: str
    to_date: str
    unit: str = "day"
    addiction_unit: str = "hour"
    data: dict[str, list[int]] = Field(default_factory=dict)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        rows = []
        for date, counts in sorted(self.data.items()):
            row: dict[str, Any] = {"date": date}
            row.update({f"period_{i + 1}": count for i, count in enumerate(counts)})
            rows.append(row)
        return rows, None


class NumericBucketResult(Result):
    event: str
    from_date: str
    to_date: str
    property_expr: str
    unit: str = "day"
    series: dict[str, dict[str, float]] = Field(default_factory=dict)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return series_rows(self.series, "bucket")


class NumericSumResult(Result):
    event: str
    from_date: str
    to_date: str
    property_expr: str
    unit: str = "day"
    results: dict[str, float] = Field(default_factory=dict)
    computed_at: str | None = None

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return [{"date": d, "sum": v} for d, v in sorted(self.results.items())], ["date", "sum"]


class NumericAverageResult(Result):
    event: str
    from_date: str
    to_date: str
    property_expr: str
    unit: str = "day"
    results: dict[str, float] = Field(default_factory=dict)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return [{"date": d, "average": v} for d, v in sorted(self.results.items())], ["date", "average"]


class UserEvent(Model):
    event: str
    time: str
    properties: dict[str, Any] = Field(default_factory=dict)


class ActivityFeedResult(Result):
    distinct_ids: list[str]
    from_date: str | None = None
    to_date: str | None = None
    events: list[UserEvent] = Field(default_factory=list)
    sentinel_event: dict[str, Any] | None = None

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return [{"event": e.event, "time": e.time, "distinct_id": e.properties.get("distinct_id"),
                 **e.properties} for e in self.events], None


class SavedReportResult(Result):
    bookmark_id: int
    computed_at: str = ""
    from_date: str = ""
    to_date: str = ""
    headers: list[str] = Field(default_factory=list)
    series: dict[str, Any] = Field(default_factory=dict)
    report_type: str = "insights"

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        rows: list[dict[str, Any]] = []
        for metric, values in self.series.items():
            if isinstance(values, dict):
                for key, value in values.items():
                    rows.append({"metric": metric, "key": key, "value": value})
            else:
                rows.append({"metric": metric, "key": None, "value": values})
        return rows, ["metric", "key", "value"]


class FlowsResult(Result):
    bookmark_id: int
    computed_at: str = ""
    steps: list[dict[str, Any]] = Field(default_factory=list)
    breakdowns: list[dict[str, Any]] = Field(default_factory=list)
    overall_conversion_rate: float = 0.0
    metadata: dict[str, Any] = Field(default_factory=dict)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return [{"step": i + 1, **step} for i, step in enumerate(self.steps)], None


class QueryResult(Result):
    """An Insights answer (``query``/``run_params``)."""

    computed_at: str = ""
    from_date: str = ""
    to_date: str = ""
    headers: list[str] = Field(default_factory=list)
    series: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return SavedReportResult._frame_rows(self)  # type: ignore[arg-type]


class UserQueryResult(Result):
    """``query_user``: profiles (``{distinct_id, last_seen, properties}``) or an aggregate."""

    mode: str = "profiles"
    profiles: list[dict[str, Any]] = Field(default_factory=list)
    total: int = 0
    aggregate_data: Any = None
    computed_at: str = ""
    params: dict[str, Any] = Field(default_factory=dict)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        if self.mode == "aggregate":
            return [{"value": self.aggregate_data}], ["value"]
        return [{"distinct_id": p.get("distinct_id"), "last_seen": p.get("last_seen"), **(p.get("properties") or {})}
                for p in self.profiles], None


class FunnelQueryResult(QueryResult):
    """A funnel answer from ``/insights`` (``query_funnel``)."""


class RetentionQueryResult(QueryResult):
    """A retention answer from ``/insights`` (``query_retention``)."""


class FlowQueryResult(Result):
    """A flows answer (``run_flow_params``)."""

    computed_at: str = ""
    steps: list[Any] = Field(default_factory=list)
    flows: list[Any] = Field(default_factory=list)
    trees: list[Any] = Field(default_factory=list)
    breakdowns: list[Any] = Field(default_factory=list)
    overall_conversion_rate: float = 0.0
    mode: str = "sankey"
    params: dict[str, Any] = Field(default_factory=dict)

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        return [{"step": i + 1, **s} if isinstance(s, dict) else {"step": i + 1, "value": s}
                for i, s in enumerate(self.steps)], None


# -------------------------------------------------------------------------------------------------------- entities


class Dashboard(Model):
    id: int
    title: str | None = None
    description: str | None = None
    is_private: bool | None = None
    is_restricted: bool | None = None
    is_favorited: bool | None = None
    created: str | None = None
    modified: str | None = None
    creator_name: str | None = None


class Bookmark(Model):
    id: int
    name: str
    type: str
    project_id: int | None = None
    workspace_id: int | None = None
    dashboard_id: int | None = None
    description: str | None = None
    params: dict[str, Any] | None = None
    created: str | None = None
    modified: str | None = None


class BookmarkHistoryResponse(Model):
    results: list[Any] = Field(default_factory=list)
    pagination: dict[str, Any] | None = None


class Cohort(Model):
    id: int
    name: str
    description: str | None = None
    count: int | None = None
    is_visible: bool | None = None
    is_locked: bool | None = None
    data_group_id: str | None = None
    created: str | None = None


class FeatureFlagStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    ARCHIVED = "archived"


class ServingMethod(StrEnum):
    CLIENT = "client"
    SERVER = "server"
    REMOTE_OR_LOCAL = "remote_or_local"
    REMOTE_ONLY = "remote_only"


class FeatureFlag(Model):
    id: str | int
    project_id: int | None = None
    name: str
    key: str
    description: str | None = None
    status: str | None = None
    tags: list[Any] | None = None
    ruleset: dict[str, Any] | None = None
    context: str | None = None
    serving_method: str | None = None


class FlagHistoryResponse(Model):
    events: list[Any] = Field(default_factory=list)
    count: int = 0


class FlagLimitsResponse(Model):
    limit: int
    is_trial: bool = False
    current_usage: int = 0
    contract_status: str | None = None


class Experiment(Model):
    id: str | int
    name: str
    description: str | None = None
    hypothesis: str | None = None
    status: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    settings: dict[str, Any] | None = None


class Annotation(Model):
    id: int
    project_id: int | None = None
    date: str
    description: str
    tags: list[Any] | None = None


class AnnotationTag(Model):
    id: int | None = None
    name: str


class ProjectWebhook(Model):
    id: str | int
    name: str
    url: str
    is_enabled: bool | None = None
    auth_type: str | None = None


class WebhookMutationResult(Model):
    id: str | int
    name: str


class WebhookTestResult(Model):
    success: bool
    status_code: int
    message: str = ""


class CustomAlert(Model):
    id: int
    name: str
    bookmark: dict[str, Any] | None = None
    condition: dict[str, Any] = Field(default_factory=dict)
    frequency: int = 0
    paused: bool = False
    subscriptions: list[dict[str, Any]] = Field(default_factory=list)
    notification_windows: dict[str, Any] | None = None
    created: str = ""
    modified: str = ""
    valid: bool | None = None


class AlertCount(Model):
    anomaly_alerts_count: int
    alert_limit: int
    is_below_limit: bool


class AlertHistoryResponse(Model):
    results: list[dict[str, Any]] = Field(default_factory=list)
    pagination: dict[str, Any] | None = None


class AlertScreenshotResponse(Model):
    signed_url: str


class AlertValidation(Model):
    alert_id: int
    alert_name: str
    valid: bool
    reason: str | None = None


class ValidateAlertsForBookmarkResponse(Model):
    alert_validations: list[AlertValidation] = Field(default_factory=list)
    invalid_count: int = 0


# -------------------------------------------------------------------------------------------------------- params


class Params(BaseModel):
    """Request params: sent as ``model_dump(by_alias=True, exclude_none=True)``."""

    model_config = ConfigDict(populate_by_name=True)

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class CreateDashboardParams(Params):
    title: str
    description: str | None = None
    is_private: bool | None = None
    is_restricted: bool | None = None
    filters: list[Any] | None = None
    breakdowns: list[Any] | None = None
    time_filter: Any | None = None
    duplicate: int | None = None
    rows: list[Any] | None = None


class UpdateDashboardParams(Params):
    title: str | None = None
    description: str | None = None
    is_private: bool | None = None
    is_restricted: bool | None = None
    filters: list[Any] | None = None
    breakdowns: list[Any] | None = None
    time_filter: Any | None = None
    layout: Any | None = None
    content: Any | None = None


class CreateBookmarkParams(Params):
    name: str
    bookmark_type: str = Field(alias="type")
    params: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    icon: str | None = None
    dashboard_id: int | None = None
    is_visibility_restricted: bool | None = None
    is_modification_restricted: bool | None = None


class BlueprintTemplate(Model):
    name: str | None = None
    template_type: str | None = None
    title_key: str | None = None
    description_key: str | None = None
    number_of_reports: int | None = None


class BlueprintConfig(Model):
    variables: dict[str, Any] = Field(default_factory=dict)


class BlueprintCard(Params):
    card_type: str = Field(alias="type")
    text_card_id: int | None = None
    bookmark_id: int | None = None
    markdown: str | None = None
    name: str | None = None
    params: dict[str, Any] | None = None


class BlueprintFinishParams(Params):
    dashboard_id: int
    cards: list[BlueprintCard]


class RcaSourceData(Params):
    source_type: str = Field(alias="type")
    date: str | None = None
    metric_source: bool | None = None


class CreateRcaDashboardParams(Params):
    rca_source_id: int
    rca_source_data: RcaSourceData


class UpdateReportLinkParams(Params):
    link_type: str = Field(alias="type")


class UpdateTextCardParams(Params):
    markdown: str


class UpdateBookmarkParams(Params):
    name: str | None = None
    params: dict[str, Any] | None = None
    description: str | None = None
    icon: str | None = None
    dashboard_id: int | None = None
    is_visibility_restricted: bool | None = None
    is_modification_restricted: bool | None = None
    deleted: bool | None = None


class BulkUpdateBookmarkEntry(Params):
    id: int
    name: str | None = None
    params: dict[str, Any] | None = None
    description: str | None = None
    icon: str | None = None
    is_visibility_restricted: bool | None = None
    is_modification_restricted: bool | None = None


def _definition(value: Any) -> dict[str, Any]:
    """A cohort definition's body keys: ``CohortDefinition.to_dict()`` or the dict given."""
    if value is None:
        return {}
    if hasattr(value, "to_dict"):
        out: dict[str, Any] = value.to_dict()
        return out
    return dict(value)


class CreateCohortParams(Params):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    name: str
    description: str | None = None
    data_group_id: str | None = None
    is_locked: bool | None = None
    is_visible: bool | None = None
    deleted: bool | None = None
    #: a ``CohortDefinition`` or its dict (``{"selector", "behaviors"}``, or raw keys such as ``filter``)
    definition: Any = None

    def body(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"definition"})
        return {**out, **_definition(self.definition)}


class UpdateCohortParams(CreateCohortParams):
    name: str | None = None  # type: ignore[assignment]


class BulkUpdateCohortEntry(Params):
    id: int
    name: str | None = None
    description: str | None = None
    definition: Any = None

    def body(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"definition"})
        return {**out, **_definition(self.definition)}


def _default_ruleset() -> dict[str, Any]:
    return {"variants": [
        {"key": "On", "value": True, "is_control": False, "split": 1.0, "is_sticky": False},
        {"key": "Off", "value": False, "is_control": True, "split": 0.0, "is_sticky": False}],
        "rollout": []}


class CreateFeatureFlagParams(Params):
    name: str
    key: str
    description: str | None = None
    status: FeatureFlagStatus | None = None
    tags: list[str] = Field(default_factory=list)
    context: str = "distinct_id"
    serving_method: ServingMethod = ServingMethod.CLIENT
    ruleset: dict[str, Any] = Field(default_factory=_default_ruleset)


class UpdateFeatureFlagParams(Params):
    name: str
    key: str
    status: FeatureFlagStatus
    ruleset: dict[str, Any]
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    context: str = "distinct_id"
    serving_method: ServingMethod = ServingMethod.CLIENT


class SetTestUsersParams(Params):
    users: dict[str, str]


class CreateExperimentParams(Params):
    name: str
    description: str | None = None
    hypothesis: str | None = None
    settings: dict[str, Any] | None = None
    access_type: str | None = None
    can_edit: bool | None = None


class UpdateExperimentParams(Params):
    name: str | None = None
    description: str | None = None
    hypothesis: str | None = None
    variants: list[Any] | dict[str, Any] | None = None
    metrics: list[Any] | dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    start_date: str | None = None
    end_date: str | None = None
    tags: list[str] | None = None
    status: str | None = None
    global_access_type: str | None = None


class ExperimentConcludeParams(Params):
    end_date: str | None = None


class ExperimentDecideParams(Params):
    success: bool
    variant: str | None = None
    message: str | None = None


class DuplicateExperimentParams(Params):
    name: str


class CreateAnnotationParams(Params):
    date: str
    description: str = Field(max_length=512)
    tags: list[int] | None = None
    user_id: int | None = None


class UpdateAnnotationParams(Params):
    description: str | None = Field(default=None, max_length=512)
    tags: list[int] | None = None


class CreateAnnotationTagParams(Params):
    name: str


class CreateWebhookParams(Params):
    name: str
    url: str
    auth_type: str | None = None
    username: str | None = None
    password: str | None = None


class UpdateWebhookParams(Params):
    name: str | None = None
    url: str | None = None
    auth_type: str | None = None
    username: str | None = None
    password: str | None = None
    is_enabled: bool | None = None


class WebhookTestParams(Params):
    url: str
    name: str | None = None
    auth_type: str | None = None
    username: str | None = None
    password: str | None = None


class CreateAlertParams(Params):
    bookmark_id: int
    name: str = Field(max_length=50)
    condition: dict[str, Any]
    frequency: int
    paused: bool
    subscriptions: list[dict[str, Any]]
    notification_windows: dict[str, Any] | None = None


class UpdateAlertParams(Params):
    name: str | None = None
    bookmark_id: int | None = None
    condition: dict[str, Any] | None = None
    frequency: int | None = None
    paused: bool | None = None
    subscriptions: list[dict[str, Any]] | None = None
    notification_windows: dict[str, Any] | None = None


class ValidateAlertsForBookmarkParams(Params):
    alert_ids: list[int] = Field(min_length=1)
    bookmark_type: str
    bookmark_params: dict[str, Any]
