"""Query results of the Workspace client, and the pydantic base every entity and result row builds on.

Models are ``extra="allow"``: unknown keys are kept. Every result keeps the JSON it was built from (``.raw``) and
builds a pandas DataFrame on first use of ``.df`` (pandas is imported then, never at ``import mixhouse``).
"""

from __future__ import annotations

import importlib
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
    """``query_user``: profiles (``{distinct_id, last_seen, properties}``) or an aggregate (``aggregate_data``: a
    number, an object of statistics, or with ``segment_by`` one of those per cohort id; decision 0032)."""

    mode: str = "profiles"
    profiles: list[dict[str, Any]] = Field(default_factory=list)
    total: int = 0
    aggregate_data: Any = None
    computed_at: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def value(self) -> int | float | None:
        """The aggregate when it is a single number (``count()``, ``percentile``), else ``None``."""
        data = self.aggregate_data
        if self.mode != "aggregate" or isinstance(data, bool) or not isinstance(data, int | float):
            return None
        return data

    @property
    def distinct_ids(self) -> list[str]:
        """The profiles' distinct ids (empty in aggregate mode)."""
        return [str(p.get("distinct_id", "")) for p in self.profiles] if self.mode == "profiles" else []

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        if self.mode == "aggregate":
            return self._aggregate_rows()
        return self._profile_rows()

    def _profile_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        """One row per profile: ``distinct_id``, ``last_seen``, then the properties in name order, built-in names
        without their ``$`` (``$email`` is ``email``), as the client library lays them out."""
        rows = []
        for profile in self.profiles:
            props = profile.get("properties")
            row = {(key[1:] if key.startswith("$") else key): value
                   for key, value in (props.items() if isinstance(props, dict) else ())}
            row.update(distinct_id=profile.get("distinct_id", ""), last_seen=profile.get("last_seen"))
            rows.append(row)
        names = sorted({key for row in rows for key in row} - {"distinct_id", "last_seen"})
        return rows, ["distinct_id", "last_seen", *names]

    def _aggregate_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        """Unsegmented: one row, ``metric`` (the action) and ``value`` or one column per statistic; segmented: one
        row per cohort, ``segment`` and ``value`` or the statistics."""
        data = self.aggregate_data
        if data is None:
            return [], ["metric", "value"]
        if isinstance(data, dict) and self.meta.get("segmented"):
            rows = [{"segment": key, **(val if isinstance(val, dict) else {"value": val})} for key, val in data.items()]
            return rows, (None if rows else ["segment", "value"])
        action = self.params.get("action", "aggregate")
        if isinstance(data, dict):
            return [{"metric": action, **data}], None
        return [{"metric": action, "value": data}], ["metric", "value"]


class FunnelQueryResult(QueryResult):
    """A funnel answer from ``/insights`` (``query_funnel``)."""


class RetentionQueryResult(QueryResult):
    """A retention answer from ``/insights`` (``query_retention``). Besides the raw ``series``: ``cohorts``
    (cohort date ``YYYY-MM-DD`` → ``{first, counts, rates}``; the ``$overall`` ones when broken down), ``average``
    (the ``$average`` cohort), and with a breakdown ``segments`` / ``segment_averages`` per segment. ``df`` has one
    row per cohort and bucket: ``cohort_date, bucket, count, rate`` (``segment`` first when broken down)."""

    def _cohort_tree(self) -> dict[str, Any]:
        tree: Any = next(iter(self.series.values())) if len(self.series) == 1 else {}
        return tree if isinstance(tree, dict) else {}

    @staticmethod
    def _split(node: Any) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        """Dated cohorts (keys cut to the day) and the ``$average`` entry of one cohort map."""
        if not isinstance(node, dict):
            return {}, {}
        cohorts = {str(key)[:10]: value for key, value in node.items()
                   if key != "$average" and isinstance(value, dict)}
        average = node.get("$average")
        return cohorts, average if isinstance(average, dict) else {}

    def _broken_down(self) -> bool:
        return isinstance(self._cohort_tree().get("$overall"), dict)

    @property
    def cohorts(self) -> dict[str, dict[str, Any]]:
        tree = self._cohort_tree()
        return self._split(tree["$overall"] if self._broken_down() else tree)[0]

    @property
    def average(self) -> dict[str, Any]:
        tree = self._cohort_tree()
        return self._split(tree["$overall"] if self._broken_down() else tree)[1]

    @property
    def segments(self) -> dict[str, dict[str, dict[str, Any]]]:
        if not self._broken_down():
            return {}
        return {str(name): self._split(node)[0] for name, node in self._cohort_tree().items() if name != "$overall"}

    @property
    def segment_averages(self) -> dict[str, dict[str, Any]]:
        if not self._broken_down():
            return {}
        found = {str(name): self._split(node)[1] for name, node in self._cohort_tree().items()
                 if name != "$overall"}
        return {name: average for name, average in found.items() if average}

    def _frame_rows(self) -> tuple[list[dict[str, Any]], list[str] | None]:
        def rows(cohorts: dict[str, dict[str, Any]], **lead: str) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for day in sorted(cohorts):
                counts, rates = cohorts[day].get("counts") or [], cohorts[day].get("rates") or []
                out.extend({**lead, "cohort_date": day, "bucket": n, "count": count,
                            "rate": rates[n] if n < len(rates) else 0.0} for n, count in enumerate(counts))
            return out

        if self._broken_down():
            segments = self.segments
            return ([row for name in sorted(segments) for row in rows(segments[name], segment=name)],
                    ["segment", "cohort_date", "bucket", "count", "rate"])
        return rows(self.cohorts), ["cohort_date", "bucket", "count", "rate"]


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
