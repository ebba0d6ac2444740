"""Identity resolution state per project (spec §2.6).

Events are stored with the id they were sent with (after Simplified ID Merge's ``$user_id``/``$device_id`` rule);
this module keeps the id → canonical id mapping that reads join against, so a merge re-attributes past events.

* Simplified ID Merge: the first event carrying both ``$device_id`` and ``$user_id`` maps ``$device:<device>`` to the
  user id. A device maps to one user forever; two user ids are never merged.
* Original ID Merge: ``$identify`` (``$anon_id`` or ``$anon_distinct_id`` → ``$identified_id``/``distinct_id``),
  ``$create_alias`` (``alias`` → ``distinct_id``) and ``$merge`` (``$distinct_ids``, only through ``/import``) join
  clusters of at most 500 ids; a cluster's canonical id is the identified id / alias target / first merged id.

The state only changes through ``plan_*`` (which returns the rows to persist) and ``apply`` once those rows are
durable; callers serialise ``plan_*`` calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mixhouse.ingest.events import EventRecord


class IdentityEvent(Protocol):
    """What identity planning reads of an event (an ``EventRecord`` or a worker's ``IdentityHint``)."""

    @property
    def event(self) -> str: ...

    @property
    def distinct_id(self) -> str: ...

    @property
    def properties(self) -> dict[str, Any]: ...


MAX_CLUSTER_IDS = 500
DEVICE_PREFIX = "$device:"


@dataclass
class IdentityState:
    """The mapping of one project: ``canonical_of[id]`` for every non-canonical member of a cluster."""

    mode: str = "simplified"
    canonical_of: dict[str, str] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)

    def canonical(self, distinct_id: str) -> str:
        return self.canonical_of.get(distinct_id, distinct_id)

    def cluster(self, canonical: str) -> set[str]:
        return self.members.get(canonical, {canonical})

    def apply(self, rows: Iterable[tuple[str, str]]) -> None:
        """Record durable ``(id, canonical)`` rows."""
        for member, canonical in rows:
            old = self.canonical_of.get(member)
            if old is not None and old in self.members:
                self.members[old].discard(member)
            if member == canonical:
                self.canonical_of.pop(member, None)
            else:
                self.canonical_of[member] = canonical
                self.members.pop(member, None)
            self.members.setdefault(canonical, {canonical}).add(member)


def apply_simplified_ids(record: EventRecord) -> None:
    """Simplified ID Merge rules 1–3: derive the stored ``distinct_id`` from ``$user_id`` / ``$device_id``."""
    props = record.properties
    user_id = props.get("$user_id")
    device_id = props.get("$device_id")
    if isinstance(user_id, str | int) and not isinstance(user_id, bool) and str(user_id):
        record.distinct_id = str(user_id)
    elif isinstance(device_id, str | int) and not isinstance(device_id, bool) and str(device_id):
        record.distinct_id = DEVICE_PREFIX + str(device_id)


class IdentityPlanner:
    """Decides the identity rows an event batch adds, against the state plus rows already planned."""

    def __init__(self, state: IdentityState) -> None:
        self.state = state
        self.pending: dict[str, str] = {}
        self.pending_members: dict[str, set[str]] = {}

    def _canonical(self, distinct_id: str) -> str:
        return self.pending.get(distinct_id) or self.state.canonical(distinct_id)

    def _cluster(self, canonical: str) -> set[str]:
        return self.pending_members.get(canonical) or set(self.state.cluster(canonical))

    def _map(self, members: set[str], canonical: str) -> None:
        for member in members:
            self.pending[member] = canonical
        self.pending_members[canonical] = self._cluster(canonical) | members

    def rows(self) -> list[tuple[str, str]]:
        return sorted(self.pending.items())

    # -- Simplified ---------------------------------------------------------------------------------------------
    def simplified(self, record: IdentityEvent) -> None:
        props = record.properties
        self.pair(props.get("$user_id"), props.get("$device_id"))

    def pair(self, user_id: Any, device_id: Any) -> None:
        """An event carrying both ``$user_id`` and ``$device_id``: map the device to the user if it is free."""
        if user_id in (None, "") or device_id in (None, ""):
            return
        device = DEVICE_PREFIX + str(device_id)
        user = str(user_id)
        if device == user or self._canonical(device) != device:
            return  # already in a cluster: a device maps to one user forever
        if device in self.state.members or device in self.pending_members:
            return  # the device id is itself a canonical id with members: never merge two clusters
        self._map({device}, user)

    # -- Original ---------------------------------------------------------------------------------------------
    def merge(self, winner_id: str, loser_id: str, *, loser_must_be_fresh: bool = False) -> str | None:
        """Join the clusters of two ids under ``winner_id``'s canonical; return a failure reason or None."""
        if not winner_id or not loser_id:
            return "missing id"
        winner, loser = self._canonical(winner_id), self._canonical(loser_id)
        if winner == loser:
            return None
        if loser_must_be_fresh and loser != loser_id:
            return "anonymous id is already merged with another identified id"
        moving = self._cluster(loser)
        if len(self._cluster(winner)) + len(moving) > MAX_CLUSTER_IDS:
            return f"an identity cluster may hold at most {MAX_CLUSTER_IDS} ids"
        self._map(moving, winner)
        self.pending_members.pop(loser, None)
        return None

    def original(self, record: IdentityEvent, *, authenticated: bool) -> None:
        props: dict[str, Any] = record.properties
        if record.event == "$identify":
            identified = props.get("$identified_id") or record.distinct_id
            anon = props.get("$anon_id") or props.get("$anon_distinct_id")
            if isinstance(identified, str) and isinstance(anon, str):
                self.merge(identified, anon, loser_must_be_fresh=True)
        elif record.event == "$create_alias":
            alias = props.get("alias")
            if isinstance(alias, str) and record.distinct_id:
                self.merge(record.distinct_id, alias, loser_must_be_fresh=True)
        elif record.event == "$merge" and authenticated:
            ids = props.get("$distinct_ids")
            if isinstance(ids, list) and len(ids) == 2 and all(isinstance(i, str) for i in ids):
                self.merge(ids[0], ids[1])
