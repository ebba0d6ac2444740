"""What the funnel SQL (``query/funnels.py``) is built from, and the small SQL pieces several of its stages share."""

from __future__ import annotations

from dataclasses import dataclass

#: Segment name of every user (the answer's ``$overall``); also the only segment without ``on``.
OVERALL = "$overall"
UNDEFINED_SEGMENT = "undefined"
#: Joins the keys of a segment path with several breakdowns (a value holding it would be read as two levels).
PATH_SEPARATOR = "\x1f"
PATH_SEPARATOR_SQL = "char(31)"


@dataclass(frozen=True)
class FunnelShape:
    """What the SQL needs: each step's and exclusion's condition over the event source (SQL with bound
    parameters), for each exclusion the step pairs it covers (``(k, k + 1)`` as ``k``), the held-constant value
    and the segment keys (``Array(Array(String))``: one array of keys per breakdown), both SQL over the source or
    ``None``."""

    steps: tuple[str, ...]
    exclusions: tuple[tuple[str, frozenset[int]], ...] = ()
    held_sql: str | None = None
    keys_sql: str | None = None
    totals: bool = False  # every attempt counts: a user re-enters after exiting (converted, excluded, timed out)
    #: Optimized re-entry (uniques): every step-1 event starts an attempt; a user counts once per bucket and
    #: segment, with the attempt that got furthest, completed that far first, and entered last.
    optimized: bool = False
    #: Any order: the steps that may fill any free position (0-based); the others keep their own position.
    #: Free positions are those of the free steps (decisions 0018, 0029).
    free: frozenset[int] = frozenset()
    #: A conversion window of this many sessions (the entry's and the ones after it; ``query/sessions.py``).
    window_sessions: int | None = None
    #: Sessions counting: the first step-1 event of each session is an entry, each attempt counted.
    per_session: bool = False
    #: Totals re-entry: ``default`` (after the attempt exits), ``basic`` (after its window closes), ``aggressive``
    #: (every step-1 event enters, attempts overlap).
    reentry: str = "default"
    #: The step whose event gives the segment: ``first_defined``, ``last_defined`` or a step (0-based).
    attribution: str | int = "first_defined"
    #: Per breakdown (``keys_sql`` holds one key array for each): whether its keys are the user's (the same on
    #: every event, e.g. cohort membership): an attempt then counts in its entry event's keys, whatever the
    #: attribution, and a user with none is in no segment (no ``undefined``).
    user_level: tuple[bool, ...] = (False,)
    #: A property math (docs/decisions/0037, ``query/funnel_values.py``): each event's number as SQL over the
    #: source (``nan`` when not a number) and the math aggregating it per step; ``None`` for a plain funnel.
    value_sql: str | None = None
    value_math: str | None = None
    #: Counting groups (decision 0043): the event's group ids (``Array(String)`` SQL over the source); each group
    #: stands as a user over the events that name it (``query/group_source.py``). ``None``: users.
    group_ids_sql: str | None = None

    @property
    def sessions(self) -> bool:
        """Whether events need their session numbers."""
        return self.window_sessions is not None or self.per_session

    @property
    def free_bits(self) -> int:
        return sum(1 << k for k in self.free)


def exclusion_bits(shape: FunnelShape, k: int) -> int:
    """The mask bits of the exclusions that cover steps ``k`` and ``k + 1``."""
    n = len(shape.steps)
    return sum(1 << (n + x) for x, (_, pairs) in enumerate(shape.exclusions) if k in pairs)


def cut_sql(k: int, bits: int) -> str:
    """A lambda over ``(t, m)``: an exclusion event between steps ``k`` and ``k + 1``, beyond the grace of both."""
    return (
        f"(t, m) -> bitAnd(m, {bits}) != 0 AND t > t{k} + {{grace_ms:Int64}} AND t < t{k + 1} - {{grace_ms:Int64}}"
    )


def _breakdown_segment_sql(shape: FunnelShape, b: int, user_level: bool) -> str:
    """Breakdown ``b``'s (1-based) segment keys of the attempt: the user's (the entry event's), or by the funnel's
    attribution those of the first (``first_defined``) or last (``last_defined``) reached step whose event has any,
    else of the given step's event; ``undefined`` when none."""
    n = len(shape.steps)
    if user_level:
        return f"sg[i0][{b}]"
    undefined = f"['{UNDEFINED_SEGMENT}']"
    if isinstance(shape.attribution, int):
        k = shape.attribution
        return f"if(level > {k} AND notEmpty(sg[i{k}][{b}]), sg[i{k}][{b}], {undefined})"
    order = range(n - 1, -1, -1) if shape.attribution == "last_defined" else range(n)
    cases = ", ".join(f"level > {k} AND notEmpty(sg[i{k}][{b}]), sg[i{k}][{b}]" for k in order)
    return f"multiIf({cases}, {undefined})"


def segment_sql(shape: FunnelShape) -> str:
    """The attempt's segments (``Array(String)``): with one breakdown its keys; with several, every path prefix
    (first breakdown's key, then first and second joined by ``PATH_SEPARATOR``, …), so each level's ``$overall``
    comes from the same rows. A user-level breakdown a user has no key of puts them in no segment at that level or
    below."""
    per_breakdown = [_breakdown_segment_sql(shape, b, user) for b, user in enumerate(shape.user_level, 1)]
    paths = [per_breakdown[0]]
    for keys in per_breakdown[1:]:
        paths.append(f"arrayFlatten(arrayMap(p -> arrayMap(v -> concat(p, {PATH_SEPARATOR_SQL}, v), {keys}), "
                     f"{paths[-1]}))")
    return paths[0] if len(paths) == 1 else f"arrayConcat({', '.join(paths)})"
