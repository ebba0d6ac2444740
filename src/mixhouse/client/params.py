"""Request params of the Workspace client: sent as ``model_dump(by_alias=True, exclude_none=True)``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mixhouse.client.entity_models import FeatureFlagStatus, ServingMethod


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


class ComposedPropertyValue(Params):
    """One input of a custom property's formula: the property ``value`` names, its ``type`` and whether it is an
    ``event`` or a ``user`` property."""

    type: str | None = None
    type_cast: str | None = Field(default=None, alias="typeCast")
    resource_type: str | None = Field(default=None, alias="resourceType")
    value: str | None = None
    label: str | None = None
    property_default_type: str | None = Field(default=None, alias="propertyDefaultType")
    behavior: Any | None = None
    join_property_type: str | None = Field(default=None, alias="joinPropertyType")


class CreateCustomPropertyParams(Params):
    """A custom property: ``display_formula`` over ``composed_properties`` (letter → input)."""

    name: str
    resource_type: str = Field(alias="resourceType")
    description: str | None = None
    display_formula: str | None = Field(default=None, alias="displayFormula")
    composed_properties: dict[str, ComposedPropertyValue] | None = Field(default=None, alias="composedProperties")
    is_locked: bool | None = Field(default=None, alias="isLocked")
    is_visible: bool | None = Field(default=None, alias="isVisible")
    property_type: str | None = Field(default=None, alias="propertyType")
    example_value: Any | None = Field(default=None, alias="exampleValue")
    data_group_id: str | None = Field(default=None, alias="dataGroupId")
    behavior: Any | None = None


class UpdateCustomPropertyParams(Params):
    """The fields of a custom property to change (the others are kept)."""

    name: str | None = None
    description: str | None = None
    display_formula: str | None = Field(default=None, alias="displayFormula")
    composed_properties: dict[str, ComposedPropertyValue] | None = Field(default=None, alias="composedProperties")
    is_locked: bool | None = Field(default=None, alias="isLocked")
    is_visible: bool | None = Field(default=None, alias="isVisible")
