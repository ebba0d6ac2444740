"""Cohort filters and cohort breakdowns as SQL over the event source's canonical ``distinct_id``: each cohort's
members (worked out by the caller's ``CohortMembers``) are bound as a set parameter, never inlined. Shared by event
metrics, funnel metrics and retention metrics of the Insights API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mixhouse.errors import ValidationError
from mixhouse.services.insights_params import CohortFilter, CohortRef, CohortSegments

if TYPE_CHECKING:  # insights_audience uses this module
    from mixhouse.services.insights_audience import CohortMembers


class MemberTests:
    """Builds membership conditions; ``params`` collects the bound member sets (and segment labels)."""

    def __init__(self, cohorts: CohortMembers | None, params: dict[str, Any] | None = None) -> None:
        if cohorts is None:
            raise ValidationError("cohort filters and breakdowns need the server's cohorts")
        self.cohorts = cohorts
        self.params: dict[str, Any] = params if params is not None else {}

    def test(self, name: str, ref: CohortRef, negated: bool) -> str:
        """``distinct_id`` in (or, ``negated``, not in) the cohort's members, bound as ``{name}``."""
        self.params[name] = sorted(self.cohorts(ref))
        return f"(distinct_id {'NOT IN' if negated else 'IN'} {{{name}:Array(String)}})"

    def filter_conditions(self, filters: Iterable[CohortFilter], prefix: str) -> list[str]:
        """One condition per filter: in any of its cohorts (``does not contain``: in none of them)."""
        conditions = []
        for n, one_filter in enumerate(filters):
            anyone = " OR ".join(self.test(f"{prefix}{n}_{m}", ref, negated)
                                 for m, (ref, negated) in enumerate(one_filter.cohorts))
            conditions.append(f"NOT ({anyone})" if one_filter.excluded else f"({anyone})")
        return conditions

    def segment_keys(self, segments: CohortSegments, prefix: str) -> str:
        """The labels of the segments the user is in, as ``Array(String)`` (negated entries: "Not In …")."""
        parts = []
        for m, (ref, negated, label) in enumerate(segments):
            self.params[f"{prefix}_{m}_label"] = label
            test = self.test(f"{prefix}_{m}", ref, negated)
            parts.append(f"if({test}, [{{{prefix}_{m}_label:String}}], CAST([] AS Array(String)))")
        return f"arrayConcat({', '.join(parts)})" if len(parts) > 1 else parts[0]
