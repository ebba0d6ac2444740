"""``Workspace`` methods for saved custom properties (the App API's ``custom_properties/``)."""

from __future__ import annotations

from typing import Any

from mixhouse.client import types as t
from mixhouse.client._base import WorkspaceBase, _validate, _validate_list
from mixhouse.client._entities import _body


class CustomPropertiesMixin(WorkspaceBase):
    """Saved custom properties. Paths are written ``/api/app/projects/{pid}/...``; with a pinned workspace they
    go to ``/api/app/workspaces/{wid}/...``. Ids are sent as given (Mixhouse's are whole numbers)."""

    def _custom_properties(self, method: str, suffix: str, *, json: Any = None) -> Any:
        path = self._api.maybe_scoped_path(f"custom_properties/{suffix}")
        return self._api.app_request(method, path, json=json)

    def list_custom_properties(self) -> list[t.CustomProperty]:
        """The project's saved custom properties (GET /api/app/projects/{pid}/custom_properties/)."""
        return _validate_list(t.CustomProperty, self._custom_properties("GET", ""), "list_custom_properties")

    def create_custom_property(self, params: t.CreateCustomPropertyParams | dict[str, Any]) -> t.CustomProperty:
        """Save a custom property (POST /api/app/projects/{pid}/custom_properties/) and return it.

        ``params``: ``CreateCustomPropertyParams`` (``name``, ``resource_type``, ``display_formula`` and
        ``composed_properties`` required) or a dict of the wire fields (camelCase)."""
        body = self._custom_properties("POST", "", json=_body(params))
        return _validate(t.CustomProperty, body, "create_custom_property")

    def get_custom_property(self, property_id: str | int) -> t.CustomProperty:
        """One saved custom property (GET /api/app/projects/{pid}/custom_properties/{id}/)."""
        return _validate(t.CustomProperty, self._custom_properties("GET", f"{property_id}/"), "get_custom_property")

    def update_custom_property(self, property_id: str | int,
                               params: t.UpdateCustomPropertyParams | dict[str, Any]) -> t.CustomProperty:
        """Change a saved custom property (PUT /api/app/projects/{pid}/custom_properties/{id}/); the fields not
        given are kept. Returns it as changed."""
        body = self._custom_properties("PUT", f"{property_id}/", json=_body(params))
        return _validate(t.CustomProperty, body, "update_custom_property")

    def delete_custom_property(self, property_id: str | int) -> None:
        """Delete a saved custom property (DELETE /api/app/projects/{pid}/custom_properties/{id}/)."""
        self._custom_properties("DELETE", f"{property_id}/")

    def validate_custom_property(self, params: t.CreateCustomPropertyParams | dict[str, Any]) -> dict[str, Any]:
        """Check a custom property without saving it (POST /api/app/projects/{pid}/custom_properties/validate/):
        ``{"valid": bool, "errors": [message, ...]}`` as the server answers it."""
        answer = self._custom_properties("POST", "validate/", json=_body(params))
        return dict(answer) if isinstance(answer, dict) else {"valid": False, "errors": [], "raw": answer}
