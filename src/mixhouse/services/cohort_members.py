"""Who is in a cohort, as of the end of a day: its condition tree evaluated over the project's users.

The users are everyone with an event up to then or a profile (canonical ids: identity merge applied). A behaviour
counts the user's events in its window — ``window`` is the last N days, weeks (7N days) or calendar months ending
with that day, in the project's time zone; ``from_date``/``to_date`` are whole days — and compares the count (or
the aggregate of a property) with the operand. Users without such events count 0, so "did not do" and "at most"
conditions include them; an average, minimum, maximum or median of no values fails every comparison. Profile
conditions read the current profiles (a user without one has no properties). A cohort condition reads the other
cohort's members as of the same day; a cohort may not refer to itself, directly or not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from mixhouse.core.dates import DateRange, months_earlier
from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.expr import Record, keeps
from mixhouse.meta.records import Project
from mixhouse.query.cohort_behaviors import behavior_sql, users_sql
from mixhouse.services.cohort_definition import Behavior, Group, InCohort, Node, UserProperty
from mixhouse.storage.base import Backend

#: The condition tree of another cohort of the project by id (``NotFoundError`` when there is none).
Definitions = Callable[[int], Node | None]
#: The project's user profiles: (canonical distinct id, properties).
ProfileRows = list[tuple[str, dict[str, Any]]]

_TESTS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda n, x: n >= x, "<=": lambda n, x: n <= x, "==": lambda n, x: n == x,
    ">": lambda n, x: n > x, "<": lambda n, x: n < x,
}


def window_days(behavior: Behavior, as_of: date) -> DateRange:
    """The days a behaviour counts, as of ``as_of``."""
    if behavior.dates is not None:
        return DateRange(*behavior.dates)
    assert behavior.window is not None
    unit, value = behavior.window
    if unit == "month":
        first = months_earlier(as_of, value) + timedelta(days=1)
    else:
        first = as_of - timedelta(days=value * (7 if unit == "week" else 1) - 1)
    return DateRange(first, as_of)


class Membership:
    """Evaluates cohort trees of one project as of one day (each referenced cohort once)."""

    def __init__(self, backend: Backend, project: Project, profiles: ProfileRows, definitions: Definitions,
                 as_of: date) -> None:
        self._backend = backend
        self._project = project
        self._timezone = project.timezone or "UTC"
        self._profiles = dict(profiles)
        self._definitions = definitions
        self._as_of = as_of
        self._users: set[str] | None = None
        self._cohorts: dict[int, set[str]] = {}
        self._visiting: list[int] = []

    def users(self) -> set[str]:
        if self._users is None:
            _, end_ms = DateRange(self._as_of, self._as_of).bounds_ms(self._timezone)
            rows = self._backend.query_rows(users_sql(), {"project_id": self._project.id, "end_ms": end_ms})
            self._users = {row["u"] for row in rows} | set(self._profiles)
        return self._users

    def of(self, node: Node | None) -> set[str]:
        """The members of a condition tree (``None``: every user)."""
        if node is None:
            return set(self.users())
        if isinstance(node, Group):
            parts = [self.of(child) for child in node.children]
            return set.intersection(*parts) if node.operator == "and" else set.union(*parts)
        if isinstance(node, UserProperty):
            return {uid for uid in self.users()
                    if keeps(node.test, Record("", 0, uid, self._profiles.get(uid, {})))}
        if isinstance(node, InCohort):
            inside = self.cohort(node.cohort_id)
            return self.users() - inside if node.negated else inside
        return self._behavior(node)

    def cohort(self, cohort_id: int) -> set[str]:
        """The members of a saved cohort of the project."""
        if cohort_id in self._cohorts:
            return self._cohorts[cohort_id]
        if cohort_id in self._visiting:
            raise ValidationError(f"cohort {cohort_id} refers to itself (through {self._visiting})")
        self._visiting.append(cohort_id)
        try:
            found = self.of(self._definitions(cohort_id))
        finally:
            self._visiting.pop()
        self._cohorts[cohort_id] = found
        return found

    def _behavior(self, behavior: Behavior) -> set[str]:
        from_ms, to_ms = window_days(behavior, self._as_of).bounds_ms(self._timezone)
        sql, params = behavior_sql("b", behavior.where, behavior.aggregate, behavior.property)
        params.update({"project_id": self._project.id, "b_event": behavior.event, "b_from_ms": from_ms,
                       "b_to_ms": to_ms})
        test = _TESTS[behavior.operator]
        counted: dict[str, float] = {row["u"]: float(row["n"]) for row in self._backend.query_rows(sql, params)
                                     if row["k"] > 0 or behavior.aggregate in (None, "total", "unique")}
        members = {uid for uid, n in counted.items() if test(n, behavior.operand)}
        if behavior.aggregate in (None, "total", "unique") and test(0.0, behavior.operand):
            members |= self.users() - set(counted)  # no such events: a count of 0
        return members & self.users()


def missing_cohort(cohort_id: int) -> NotFoundError:
    return NotFoundError(f"no cohort {cohort_id} in this project")
