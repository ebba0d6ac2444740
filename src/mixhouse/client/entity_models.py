"""Entities the Workspace client reads back: dashboards, bookmarks, cohorts, flags, experiments, annotations,
webhooks, alerts and custom properties (pydantic, ``extra="allow"``: unknown keys are kept)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from mixhouse.client.results import Model


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


class BlueprintTemplate(Model):
    name: str | None = None
    template_type: str | None = None
    title_key: str | None = None
    description_key: str | None = None
    number_of_reports: int | None = None


class BlueprintConfig(Model):
    variables: dict[str, Any] = Field(default_factory=dict)


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


class CustomProperty(Model):
    """A saved custom property; the wire keys are camelCase (``customPropertyId``, ``displayFormula``...), and the
    snake_case field names are accepted too."""

    custom_property_id: int | str = Field(alias="customPropertyId")
    name: str
    resource_type: str = Field(alias="resourceType")
    description: str | None = None
    property_type: str | None = Field(default=None, alias="propertyType")
    display_formula: str | None = Field(default=None, alias="displayFormula")
    composed_properties: dict[str, Any] | None = Field(default=None, alias="composedProperties")
    is_locked: bool | None = Field(default=None, alias="isLocked")
    is_visible: bool | None = Field(default=None, alias="isVisible")
    example_value: Any = Field(default=None, alias="exampleValue")
    data_group_id: str | None = Field(default=None, alias="dataGroupId")
    created: str | None = None
    modified: str | None = None
