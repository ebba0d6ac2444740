"""Which data group an Insights report counts (group analytics, decision 0043), read from its bookmark params.

A data group id names the group key itself (decision 0006: ``company_id``, the event property whose value is the
group id), as ``/engage`` and cohorts read ``data_group_id``. Bookmark params say it in three places:
``sections.globalDataGroupId`` (the report's), and a metric's ``measurement.dataGroupId`` or
``behavior.dataGroupId`` (the metric's own; it falls back to the report's). Every metric must count the same thing
(users, or one data group); a report mixing them is refused (400).

Every other ``dataGroupId`` / ``data_group_id`` (on filters, breakdowns, cohort entries) must be null or the
report's data group: a group-profile property of another group key, or of a group in a report counting users, is
refused by name rather than read against the wrong profiles. In a report counting a data group, filters and
breakdowns on profile properties (``resourceType: people``) are the group's profile properties and must say so with
the report's ``dataGroupId``; one without it (a user profile property) is refused, since the report counts no users.
"""

from __future__ import annotations

from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.query.bookmark_filters import DATA_GROUP_KEYS

_PEOPLE = ("people", "user")


def named_group_key(value: Any, what: str = "a data group id") -> str | None:
    """A data group id as the group key it names (``None`` for null or empty; a number names the key of that name,
    as ``/engage`` reads it); ``what`` names it in the refusal."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"{what} names a group key (a string), not {value!r}")
    return str(value)


def _metric_group(spec: Any, report: str | None) -> str | None:
    if not isinstance(spec, dict) or spec.get("type") == "formula":
        return report
    own = None
    for part in ("measurement", "behavior"):
        found = spec.get(part)
        own = own or (named_group_key(found.get("dataGroupId")) if isinstance(found, dict) else None)
    return own or report


def _others(node: Any, group: str | None) -> None:
    """Refuse any data group id other than ``group`` anywhere under ``node``."""
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key in DATA_GROUP_KEYS:
                found = named_group_key(item.get(key))
                if found is not None and found != group:
                    if group is None:
                        raise ValidationError(f"group analytics ({key} {found!r}) on a filter or breakdown needs a "
                                              "report that counts that data group (sections.globalDataGroupId)")
                    raise ValidationError(f"{key} {found!r} differs from the data group the report counts "
                                          f"({group!r}); one data group per report")
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _profile_entries(sections: dict[str, Any], group: str) -> None:
    for section in ("filter", "group"):
        entries = sections.get(section)
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or entry.get("resourceType") not in _PEOPLE:
                continue
            if isinstance(entry.get("behavior"), dict) or entry.get("value") == "$cohorts" or entry.get("cohorts"):
                continue  # frequency and cohort entries: refused in a group report by services/insights_groups.py
            if named_group_key(entry.get("dataGroupId")) != group:
                raise ValidationError(f"the user profile property {entry.get('value')!r} in sections.{section} "
                                      f"cannot be read in a report that counts data group {group!r}; name a group "
                                      "profile property with its dataGroupId")


def report_data_group(params: Any) -> str | None:
    """The group key the report's metrics count (``None``: users); ``ValidationError`` for mixtures and stray data
    group ids."""
    if not isinstance(params, dict) or not isinstance(params.get("sections"), dict):
        return None
    sections = params["sections"]
    report = named_group_key(sections.get("globalDataGroupId"))
    shows = sections.get("show") if isinstance(sections.get("show"), list) else []
    counted = {_metric_group(spec, report) for spec in shows if not (isinstance(spec, dict)
                                                                     and spec.get("type") == "formula")}
    if len(counted) > 1:
        named = ", ".join(sorted(repr(group) if group else "users" for group in counted))
        raise ValidationError(f"the metrics of one report must count the same data group (dataGroupId), not {named}")
    group = next(iter(counted), report)
    _others(params, group)
    if group is not None:
        _profile_entries(sections, group)
    return group
