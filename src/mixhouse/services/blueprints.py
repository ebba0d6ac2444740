"""Built-in dashboard templates (blueprints): each a set of reports over the project's own events, real bookmark
params the engines run.

A template names *variables* (which event is the sign-up, the key action, the conversion); a new blueprint dashboard
fills them from the project's most frequent events of the last 30 days (an event whose name looks like a sign-up or
a purchase when there is one). A template may also name *cohort placeholders* (e.g. ``new_users``): its Insights
reports that use one get a ``$cohorts`` filter once ``PUT dashboards/blueprints/cohorts`` maps the placeholder to a
saved cohort.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

from mixhouse.errors import ValidationError
from mixhouse.services.funnel_definition import funnel_params

LAST_30_DAYS: Final = {"dateRangeType": "in the last", "unit": "day", "window": {"unit": "day", "value": 30}}
VARIABLES: Final = ("key_event", "signup_event", "conversion_event")
_SIGNUP = re.compile(r"sign.?up|register|account created|onboard", re.IGNORECASE)
_CONVERSION = re.compile(r"purchase|order|checkout|subscri|convert|pay", re.IGNORECASE)


def _metric(event: str, math: str, *, chart: str = "line", unit: str = "day",
            groups: tuple[str, ...] = ()) -> dict[str, Any]:
    behavior = {"type": "event", "name": event, "resourceType": "events", "filters": [], "filtersDeterminer": "all"}
    return {
        "displayOptions": {"chartType": chart, "analysis": "linear"},
        "sections": {"show": [{"type": "metric", "behavior": behavior, "measurement": {"math": math}}],
                     "time": [{**LAST_30_DAYS, "unit": unit}], "filter": [], "formula": [],
                     "group": [{"value": g, "resourceType": "events", "propertyType": "string"} for g in groups]},
    }


def _funnel(steps: list[str]) -> dict[str, Any]:
    params = funnel_params(steps, window=7)
    params["sections"]["time"] = [LAST_30_DAYS]
    return params


def _retention(birth: str, back: str) -> dict[str, Any]:
    behavior = {"type": "retention", "resourceType": "events", "retentionUnit": "week",
                "retentionAlignmentType": "birth", "retentionCustomBucketSizes": [], "retentionUnboundedMode": "none",
                "filter": [], "behaviors": [{"type": "event", "name": birth, "filters": []},
                                            {"type": "event", "name": back, "filters": []}]}
    return {"displayOptions": {"chartType": "retention-curve"},
            "sections": {"show": [{"type": "metric", "behavior": behavior, "measurement": {"math": "retention_rate"}}],
                         "time": [LAST_30_DAYS], "filter": [], "group": []}}


@dataclass(frozen=True)
class TemplateReport:
    name: str  # with {variable} placeholders
    type: str
    build: Callable[[dict[str, str]], dict[str, Any]]
    cohort: str | None = None  # a cohort placeholder the report is filtered by, once mapped


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    description: str
    reports: tuple[TemplateReport, ...]
    cohort_placeholders: dict[str, str] = field(default_factory=dict)


TEMPLATES: Final = {t.key: t for t in (
    Template("product_analytics", "Product Analytics",
             "Daily and weekly active users, the key action's volume, and who comes back.", (
                 TemplateReport("Daily active users ({key_event})", "insights",
                                lambda v: _metric(v["key_event"], "dau")),
                 TemplateReport("Weekly users of {key_event}", "insights",
                                lambda v: _metric(v["key_event"], "unique", unit="week")),
                 TemplateReport("{key_event} per day", "insights", lambda v: _metric(v["key_event"], "total")),
                 TemplateReport("{signup_event}, then {key_event}", "insights",
                                lambda v: _retention(v["signup_event"], v["key_event"])),
             )),
    Template("company_kpis", "Company KPIs", "The numbers a leadership meeting opens with.", (
        TemplateReport("{conversion_event} in the last 30 days", "insights",
                       lambda v: _metric(v["conversion_event"], "total", chart="bar")),
        TemplateReport("Users doing {key_event}", "insights",
                       lambda v: _metric(v["key_event"], "unique", chart="bar")),
        TemplateReport("{conversion_event} per week", "insights",
                       lambda v: _metric(v["conversion_event"], "total", unit="week")),
        TemplateReport("{signup_event} to {conversion_event}", "funnels",
                       lambda v: _funnel([v["signup_event"], v["conversion_event"]])),
    )),
    Template("conversion", "Conversion", "Where new users convert, by browser, and whether they come back.", (
        TemplateReport("{signup_event} → {key_event} → {conversion_event}", "funnels",
                       lambda v: _funnel([v["signup_event"], v["key_event"], v["conversion_event"]])),
        TemplateReport("{conversion_event} by browser", "insights",
                       lambda v: _metric(v["conversion_event"], "unique", chart="bar", groups=("$browser",)),
                       cohort="new_users"),
        TemplateReport("{conversion_event}, then {conversion_event} again", "insights",
                       lambda v: _retention(v["conversion_event"], v["conversion_event"])),
    ), {"new_users": "The users the conversion reports follow"}),
)}


def template(key: Any) -> Template:
    if not isinstance(key, str) or key not in TEMPLATES:
        raise ValidationError(f"unknown template_type {key!r} (one of {', '.join(TEMPLATES)})")
    return TEMPLATES[key]


def default_variables(top_events: list[str]) -> dict[str, str]:
    """Variables from the project's most frequent events (most first)."""
    if not top_events:
        raise ValidationError("a blueprint needs events to report on: send some first")
    key = top_events[0]
    signup = next((e for e in top_events if _SIGNUP.search(e)), key)
    conversion = next((e for e in top_events if _CONVERSION.search(e)),
                      top_events[1] if len(top_events) > 1 else key)
    return {"key_event": key, "signup_event": signup, "conversion_event": conversion}


def template_json(item: Template, *, include_reports: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"template_type": item.key, "title_key": item.title, "description_key": item.description,
                           "alternative_description_key": None, "number_of_reports": len(item.reports),
                           "cohort_placeholders": item.cohort_placeholders}
    if include_reports:
        out["reports"] = [{"name": r.name, "type": r.type, "cohort_placeholder": r.cohort} for r in item.reports]
    return out


def cohort_filter(cohort_id: int, name: str) -> dict[str, Any]:
    """The ``$cohorts`` filter a mapped placeholder adds to a report (``Filter.in_cohort``'s shape)."""
    return {"value": "$cohorts", "resourceType": "events", "filterType": "list", "filterOperator": "contains",
            "filterValue": [{"cohort": {"id": cohort_id, "name": name, "negated": False}}]}


def with_cohort(params: dict[str, Any], cohort_id: int, name: str) -> dict[str, Any]:
    """``params`` filtered by the cohort (replacing an earlier cohort filter)."""
    sections = dict(params.get("sections") or {})
    kept = [f for f in sections.get("filter") or [] if not (isinstance(f, dict) and f.get("value") == "$cohorts")]
    sections["filter"] = [*kept, cohort_filter(cohort_id, name)]
    return {**params, "sections": sections}


#: Breakdowns a root-cause-analysis dashboard splits its metric by.
RCA_BREAKDOWNS: Final = ("$browser", "$os", "mp_country_code", "$city")


def metric_of(report_type: str, params: dict[str, Any]) -> tuple[str, str]:
    """``(event, math)`` of a report's first metric (a funnel's first step, a retention's birth event)."""
    try:
        show = params["sections"]["show"][0]
        behavior = show["behavior"]
        if behavior.get("type") in ("funnel", "retention"):
            return str(behavior["behaviors"][0]["name"]), "unique"
        return str(behavior["name"]), str((show.get("measurement") or {}).get("math") or "total")
    except (KeyError, IndexError, TypeError):
        raise ValidationError(f"this {report_type} report has no metric to analyse") from None


def rca_reports(event: str, math: str, day: str | None) -> list[tuple[str, dict[str, Any]]]:
    """An RCA dashboard's reports: the metric per day, then by each breakdown (the 14 days up to ``day``, or the
    last 30 days)."""
    simple = math if math in ("total", "unique") else "total"
    reports = [(f"{event} per day", _metric(event, simple))]
    for prop in RCA_BREAKDOWNS:
        reports.append((f"{event} by {prop}", _metric(event, simple, chart="bar", groups=(prop,))))
    if day is not None and not isinstance(day, str):
        raise ValidationError("rca_source_data.date must be YYYY-MM-DD")
    if day is not None:
        try:
            last = date.fromisoformat(day[:10])
        except ValueError:
            raise ValidationError("rca_source_data.date must be YYYY-MM-DD") from None
        window = {"dateRangeType": "between", "unit": "day",
                  "value": [(last - timedelta(days=13)).isoformat(), last.isoformat()]}
        for _, params in reports:
            params["sections"]["time"] = [window]
    return reports
