"""Authentication shared by the Query, export and engage APIs: service account + ``project_id``, or secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from mixhouse.errors import AuthenticationError, ValidationError
from mixhouse.ingest.decode import parse_json
from mixhouse.meta.records import Project
from mixhouse.server.auth import basic_credentials, bearer_token, project_id_param
from mixhouse.server.context import runtime


async def request_params(request: Request) -> dict[str, Any]:
    """Query string overlaid by a form body or a JSON object body (the headless client posts JSON to engage)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type == "application/json":
            body = await request.body()
            if body.strip():
                parsed = parse_json(body, "body")
                if not isinstance(parsed, dict):
                    raise ValidationError("the JSON body must be an object of parameters")
                params.update(parsed)
        else:
            body = await request.body()
            try:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError as exc:
                raise ValidationError("the form body is not valid UTF-8") from exc
    return params


def authenticate(request: Request, params: Mapping[str, Any]) -> Project:
    raw_id = params.get("project_id")
    project_id = project_id_param(str(raw_id) if raw_id is not None else None)
    token = bearer_token(request.headers)
    if token is not None:
        return runtime(request).projects.authenticate_bearer(token, project_id)
    credentials = basic_credentials(request.headers)
    if credentials is None:
        raise AuthenticationError("authentication required: HTTP Basic with a service account or project secret")
    return runtime(request).projects.authenticate(
        username=credentials.username, password=credentials.password, project_id=project_id
    )
