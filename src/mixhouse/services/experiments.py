"""Experiments over the App API: checking bodies, the lifecycle, and the JSON Mixpanel answers with.

The lifecycle (decision 24): ``draft`` → ``active`` (launch: ``start_date`` set, the linked flag enabled) →
``concluded`` (force_conclude: ``end_date`` set, the flag left serving) → ``success`` | ``fail`` (decide: the
decision recorded, the flag untouched). Archiving is apart from the status (an active experiment must be concluded
first); an archived experiment takes no lifecycle action until restored. Every other move is a 400 naming the
experiment's status and the action. Variants and the linked flag are fixed once the experiment leaves draft.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any, Final

from mixhouse.errors import ValidationError
from mixhouse.meta.experiments import LINK, Change, Experiment
from mixhouse.meta.models import EXPERIMENT_STATUSES
from mixhouse.meta.store import validate_name

TEXT_MAX: Final = 10_000
#: What a PATCH may set besides the lifecycle (``status`` only to the status the experiment already has).
_JSON_OBJECTS: Final = ("settings", "exposures_cache", "results_cache")
_LISTS_OR_OBJECTS: Final = ("variants", "metrics")
#: Fixed once the experiment is launched: changing them would mix two designs in one result.
_DRAFT_ONLY: Final = ("variants", LINK)
Rule = Callable[[Experiment], Change]
#: The action that moves an experiment into each status.
_ACTION_TO: Final = {"active": "launch", "concluded": "force_conclude", "success": "decide", "fail": "decide"}


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > TEXT_MAX):
        raise ValidationError(f"{name} must be text of at most {TEXT_MAX} characters", details={"field": name})
    return value


def moment(value: Any, name: str) -> datetime | None:
    """An ISO 8601 date (midnight UTC) or date-time (UTC unless it says otherwise); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return datetime.combine(date.fromisoformat(value), time(), UTC)
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            pass
    raise ValidationError(f"{name} must be an ISO 8601 date or date-time, got {value!r}", details={"field": name})


def _link(body: dict[str, Any]) -> str | None:
    """The flag to link: ``feature_flag_id``, or ``feature_flag: {"id": ...}``; ``None`` unlinks."""
    raw = body[LINK] if LINK in body else body.get("feature_flag")
    if isinstance(raw, dict):
        raw = raw.get("id")
    if raw is not None and (not isinstance(raw, str) or not raw):
        raise ValidationError("feature_flag_id must be a feature flag's id (or null to unlink)")
    return raw


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    """The checked columns ``body`` sets (only the ones it names)."""
    out: dict[str, Any] = {}
    if "name" in body:
        out["name"] = validate_name(body["name"], "name")
    for name in ("description", "hypothesis"):
        if name in body:
            out[name] = _optional_text(body, name)
    for name in _JSON_OBJECTS:
        if name in body:
            if body[name] is not None and not isinstance(body[name], dict):
                raise ValidationError(f"{name} must be an object", details={"field": name})
            out[name] = body[name] if body[name] is not None or name != "settings" else {}
    for name in _LISTS_OR_OBJECTS:
        if name in body:
            if not isinstance(body[name], list | dict | None):
                raise ValidationError(f"{name} must be a list or an object", details={"field": name})
            out[name] = body[name] if body[name] is not None else []
    if "tags" in body:
        tags = body["tags"] or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValidationError("tags must be a list of strings", details={"field": "tags"})
        out["tags"] = tags
    for name in ("start_date", "end_date"):
        if name in body:
            out[name] = moment(body[name], name)
    if LINK in body or "feature_flag" in body:
        out[LINK] = _link(body)
    return out


def create_fields(body: dict[str, Any]) -> dict[str, Any]:
    """A new experiment's columns (``name`` required; it starts in draft whatever else the body says)."""
    if "name" not in body:
        raise ValidationError("missing required field: name", details={"field": "name"})
    if body.get("status") not in (None, "draft"):
        raise ValidationError(f"a new experiment is a draft, not {body['status']!r}: launch it to make it active")
    defaults: dict[str, Any] = {"variants": [], "metrics": [], "settings": {}, "exposures_cache": None,
                                "results_cache": None, "tags": []}
    out = defaults | _fields(body)
    _check_dates(out.get("start_date"), out.get("end_date"))
    return out


def _check_dates(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationError(f"end_date ({end.isoformat()}) is before start_date ({start.isoformat()})")


def update(body: dict[str, Any]) -> Rule:
    """PATCH: the fields ``body`` names; the status only through launch, force_conclude and decide."""
    fields = _fields(body)

    status = body.get("status")
    if status is not None and status not in EXPERIMENT_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(EXPERIMENT_STATUSES)}", details={"field": "status"})

    def rule(exp: Experiment) -> Change:
        if status is not None and status != exp.status:
            how = ("an experiment never goes back to draft (duplicate it instead)" if status == "draft" else
                   f"use {_ACTION_TO[status]}")
            raise ValidationError(f"Experiment is {exp.status}: its status changes only through its lifecycle "
                                  f"actions, not by an update to {status!r}; {how}", details={"field": "status"})
        current = {"variants": exp.variants, LINK: None if exp.flag is None else exp.flag.id}
        if exp.status != "draft":
            for name in _DRAFT_ONLY:
                if name in fields and fields[name] != current[name]:
                    what = "variants" if name == "variants" else "feature flag"
                    raise ValidationError(f"Experiment is {exp.status}: its {what} cannot change after launch "
                                          "(duplicate it to test another design)", details={"field": name})
        _check_dates(fields.get("start_date", exp.start_date), fields.get("end_date", exp.end_date))
        return Change(fields)

    return rule


def _not_archived(exp: Experiment, action: str) -> None:
    if exp.archived:
        raise ValidationError(f"Experiment is archived ({exp.status}): restore it before you {action} it")


def launch(exp: Experiment) -> Change:
    _not_archived(exp, "launch")
    if exp.status != "draft":
        raise ValidationError(f"Experiment must be in draft state to launch; this one is {exp.status}")
    if exp.flag is not None and exp.flag.status == "archived":
        raise ValidationError(f"Experiment's feature flag {exp.flag.key!r} is archived: restore the flag or unlink "
                              "it before you launch")
    now = datetime.now(UTC)
    fields: dict[str, Any] = {"status": "active", "start_date": now}
    if exp.end_date is not None and exp.end_date < now:
        fields["end_date"] = None  # a planned end already past would make an empty window
    return Change(fields, flag_status="enabled")


def conclude(body: dict[str, Any]) -> Rule:
    end = moment(body.get("end_date"), "end_date")

    def rule(exp: Experiment) -> Change:
        _not_archived(exp, "conclude")
        if exp.status != "active":
            raise ValidationError(f"Experiment must be active to conclude; this one is {exp.status}")
        end_date = end or datetime.now(UTC)
        _check_dates(exp.start_date, end_date)
        return Change({"status": "concluded", "end_date": end_date})

    return rule


def _variant_keys(exp: Experiment) -> list[str]:
    """The variant keys the experiment declares (``variants`` as a list of ``{key}`` or keyed by variant) and its
    flag serves."""
    declared = exp.variants if isinstance(exp.variants, list) else list(exp.variants or {})
    keys = [str(v.get("key")) if isinstance(v, dict) else str(v) for v in declared
            if not isinstance(v, dict) or v.get("key") is not None]
    if exp.flag is not None:
        keys += [str(v["key"]) for v in exp.flag.ruleset.get("variants", [])]
    return keys


def decide(body: dict[str, Any]) -> Rule:
    success = body.get("success")
    if not isinstance(success, bool):
        raise ValidationError("success is required and must be true or false", details={"field": "success"})
    variant = body.get("variant")
    if variant is not None and (not isinstance(variant, str) or not variant.strip()):
        raise ValidationError("variant must be a variant key", details={"field": "variant"})
    message = _optional_text(body, "message")

    def rule(exp: Experiment) -> Change:
        _not_archived(exp, "decide")
        if exp.status != "concluded":
            raise ValidationError(f"Experiment must be concluded to decide; this one is {exp.status}")
        chosen = variant
        keys = _variant_keys(exp)
        if variant is not None and keys:
            matches = [k for k in keys if k.casefold() == variant.casefold()]
            if not matches:
                raise ValidationError(f"variant {variant!r} is not one of this experiment's variants "
                                      f"({', '.join(dict.fromkeys(keys))})", details={"field": "variant"})
            chosen = matches[0]
        return Change({"status": "success" if success else "fail", "decision_success": success,
                       "decision_variant": chosen, "decision_message": message,
                       "decided_at": datetime.now(UTC)})

    return rule


def archive(exp: Experiment) -> Change:
    if exp.status == "active":
        raise ValidationError("Experiment is active: conclude it before you archive it")
    return Change({"archived": True})


def restore(_: Experiment) -> Change:
    return Change({"archived": False})


def duplicate_fields(exp: Experiment, body: dict[str, Any]) -> dict[str, Any]:
    """A new draft named ``body["name"]`` with ``exp``'s design (text, variants, metrics, settings, tags); no dates,
    results, decision or flag (a flag backs one experiment)."""
    if body.get("name") is None:
        raise ValidationError("missing required field: name (the duplicate's name)", details={"field": "name"})
    return {"name": validate_name(body["name"], "name"), "description": exp.description,
            "hypothesis": exp.hypothesis, "variants": exp.variants, "metrics": exp.metrics,
            "settings": exp.settings, "exposures_cache": None, "results_cache": None, "tags": exp.tags}


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _flag_json(exp: Experiment) -> dict[str, Any] | None:
    flag = exp.flag
    if flag is None:
        return None
    return {"id": flag.id, "key": flag.key, "name": flag.name, "status": flag.status,
            "variants": flag.ruleset.get("variants", [])}


def _decision(exp: Experiment) -> dict[str, Any] | None:
    if exp.decision_success is None:
        return None
    return {"success": exp.decision_success, "variant": exp.decision_variant, "message": exp.decision_message,
            "decided": _moment(exp.decided_at)}


def experiment_json(exp: Experiment, *, can_edit: bool) -> dict[str, Any]:
    first, _, last = exp.creator_name.partition(" ")
    return {
        "id": exp.id,
        "project_id": exp.project_id,
        "workspace_id": exp.workspace_id,
        "name": exp.name,
        "description": exp.description,
        "hypothesis": exp.hypothesis,
        "status": exp.status,
        "is_archived": exp.archived,
        "variants": exp.variants,
        "metrics": exp.metrics,
        "settings": exp.settings,
        "exposures_cache": exp.exposures_cache,
        "results_cache": exp.results_cache,
        "start_date": _moment(exp.start_date),
        "end_date": _moment(exp.end_date),
        "created": _moment(exp.created_at),
        "updated": _moment(exp.modified_at),
        "creator": {"id": exp.creator_id, "first_name": first or None, "last_name": last or None},
        "feature_flag": _flag_json(exp),
        "feature_flag_id": None if exp.flag is None else exp.flag.id,
        "decision": _decision(exp),
        "is_favorited": False,
        "pinned_date": None,
        "tags": exp.tags,
        "can_edit": can_edit,
        "last_modified_by_id": exp.last_modified_by_id,
        "last_modified_by_name": exp.last_modified_by_name,
        "last_modified_by_email": None,
    }


def erf_json(exp: Experiment) -> dict[str, Any]:
    """An experiment as the results framework reads it: its design, window, flag and decision."""
    return {
        "id": exp.id,
        "name": exp.name,
        "status": exp.status,
        "hypothesis": exp.hypothesis,
        "start_date": _moment(exp.start_date),
        "end_date": _moment(exp.end_date),
        "variants": exp.variants,
        "metrics": exp.metrics,
        "settings": exp.settings,
        "feature_flag_id": None if exp.flag is None else exp.flag.id,
        "feature_flag_key": None if exp.flag is None else exp.flag.key,
        "decision": _decision(exp),
    }

