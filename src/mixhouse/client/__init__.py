"""The Workspace client library: Mixpanel's wire protocol against a Mixhouse server (or Mixpanel itself).

Needs only the base dependencies (httpx, pydantic, orjson; pandas for ``.df``): nothing here imports server code.
"""

from __future__ import annotations

from mixhouse.client import types as _types
from mixhouse.client.builders import (
    CohortBreakdown,
    CohortCriteria,
    CohortDefinition,
    CohortMetric,
    CustomPropertyRef,
    Exclusion,
    Filter,
    FlowStep,
    Formula,
    FrequencyBreakdown,
    FrequencyFilter,
    FunnelStep,
    GroupBy,
    HoldingConstant,
    InlineCustomProperty,
    Metric,
    PropertyInput,
    RetentionEvent,
    TimeComparison,
)
from mixhouse.client.config import (
    Account,
    ConfigManager,
    Project,
    Session,
    Target,
    WorkspaceRef,
    resolve_session,
)
from mixhouse.client.types import *  # noqa: F403
from mixhouse.client.workspace import NOT_SUPPORTED, Workspace

__all__ = [
    "NOT_SUPPORTED",
    "Account",
    "CohortBreakdown",
    "CohortCriteria",
    "CohortDefinition",
    "CohortMetric",
    "CustomPropertyRef",
    "Exclusion",
    "Filter",
    "FlowStep",
    "Formula",
    "FrequencyBreakdown",
    "FrequencyFilter",
    "FunnelStep",
    "GroupBy",
    "HoldingConstant",
    "InlineCustomProperty",
    "Metric",
    "PropertyInput",
    "RetentionEvent",
    "ConfigManager",
    "Project",
    "Session",
    "Target",
    "TimeComparison",
    "Workspace",
    "WorkspaceRef",
    "resolve_session",
    *sorted(name for name in _types.__all__ if isinstance(getattr(_types, name), type)),
]
