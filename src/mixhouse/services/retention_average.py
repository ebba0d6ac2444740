"""The ``$average`` cohort of an Insights retention answer: Mixpanel's average of the complete buckets.

Mixpanel sums each bucket over the cohorts that have *completed* it, so recent users who had no time to come back
yet do not pull the later buckets down (its retention FAQ: "the average of all complete buckets"). A cohort (the
users born in one ``unit`` bucket, starting at local midnight ``day``) completes bucket *i* when every member has
had all of it:

* birth-aligned (rolling) intervals: the cohort's last possible birth is just before the next cohort starts, so
  bucket *i* is complete ``1 + end_i`` units after ``day``;
* calendar-aligned intervals: bucket *i* is the calendar units ``[start_i, end_i)`` after the cohort's own, complete
  ``end_i`` units after ``day``;

where ``end_i`` is ``(i + 1) · interval`` units, or with custom brackets 1 for interval 0 and then each bracket's
end. "Complete" is judged against the current time in the project's time zone. A bucket no cohort has completed yet
averages every cohort's partial numbers (Mixpanel leaves it out of the chart; a list of numbers cannot). ``first``
stays the size of every cohort.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mixhouse.services import retention


def bucket_ends(query: retention.RetentionQuery) -> list[int]:
    """Each bucket's end, in units after its start of counting (the birth's unit or the birth itself)."""
    if query.bracket_sizes:
        ends = [1]
        for size in query.bracket_sizes:
            ends.append(ends[-1] + size)
        return ends
    return [(i + 1) * query.interval for i in range(query.interval_count + 1)]


def _plus_units(day: date, units: int, unit: str) -> date:
    if unit == "day":
        return day + timedelta(days=units)
    if unit == "week":
        return day + timedelta(days=7 * units)
    months = day.year * 12 + day.month - 1 + units
    return date(months // 12, months % 12 + 1, 1)  # month cohorts start on the 1st


def completed(cohort_day: str, query: retention.RetentionQuery, now: datetime) -> list[bool]:
    """For each bucket, whether the cohort starting on ``cohort_day`` (``YYYY-MM-DD``, local) has completed it."""
    day = date.fromisoformat(cohort_day[:10])
    today = now.astimezone(ZoneInfo(query.timezone)).date()
    lead = 0 if query.calendar else 1
    return [_plus_units(day, lead + end, query.unit) <= today for end in bucket_ends(query)]


def average(cohorts: list[tuple[str, int, list[Any]]], query: retention.RetentionQuery,
            now: datetime) -> tuple[int, list[Any], list[int]]:
    """``first`` (every cohort), each bucket's value summed over the cohorts that completed it, and the cohort users
    behind each bucket's sum (its denominator), from ``(day, first, values)`` per cohort."""
    first = sum(size for _, size, _ in cohorts)
    length = max((len(values) for _, _, values in cohorts), default=0)
    totals: list[Any] = [0] * length
    sizes = [0] * length
    done = [completed(day, query, now) for day, _, _ in cohorts]
    for i in range(length):
        chosen = [n for n, flags in enumerate(done) if i < len(flags) and flags[i]]
        if not chosen:  # nobody has completed it yet: the partial numbers of every cohort
            chosen = list(range(len(cohorts)))
        totals[i] = sum(cohorts[n][2][i] for n in chosen if i < len(cohorts[n][2]))
        sizes[i] = sum(cohorts[n][1] for n in chosen)
    return first, totals, sizes
