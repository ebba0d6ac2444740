"""Deterministic synthetic product-analytics data in Mixpanel's wire shape.

Used by ``mixhouse demo``, the tests and the benchmarks.  Events are ready for ``/import`` (no ``token``),
profile updates for ``/engage`` and group updates for ``/groups`` (no ``$token``; the caller authenticates).

The same :class:`DemoConfig` always yields the same data, in any process: every random draw comes from
``random.Random`` instances seeded from ``config.seed`` with string seeds (hashed with SHA-512, so independent of
``PYTHONHASHSEED``), and nothing iterates a set or a hash-ordered dict.  Only the default ``end`` reads the clock.

The model (an online shop with web and app clients):

* **Users.**  ``users`` people (default ``max(50, events // 40)``) are acquired over the window, front-loaded
  (about 16 % in the first day of a 30-day window, the rest following traffic seasonality).  Each user has a
  Zipf-like activity weight (``1 / (rank/users + 0.01)^1.2``), so the top 10 % of users produce about 60 % of
  the events.  If ``events`` is too small to give every user a first visit (first visits may use at most half
  of the events), only the earliest users take part.
* **Sessions.**  Every user's first visit happens at their acquisition time; later sessions are spread over the
  window by hour-of-day and day-of-week seasonality times (share of users acquired so far)^0.6 (a growing
  product), and go to eligible users (first visit at least an hour ago) in proportion to their weight.  A
  session is 1–15 events (mean ≈ 4.7) seconds to minutes apart; one user's sessions never overlap.
* **Identity (Simplified ID Merge).**  :data:`SIGNUP_SHARE` of the users sign up in their first visit: 1–3
  anonymous events (``distinct_id`` ``$device:<uuid>`` plus ``$device_id``), then ``Sign Up`` carrying both
  ``$device_id`` and ``$user_id`` (``distinct_id`` = ``user_00042``), then identified events (``$user_id``; in
  85 % of sessions also ``$device_id``).  The others stay anonymous for ever (≈ 38 % of the people seen).
  :data:`MULTI_DEVICE_SHARE` of the signed-up users own a second device, used from their first later session
  on (≈ 13 % of signed-up users actually show two devices at 100k events): that session starts anonymous and
  is merged by a ``Log In`` event carrying both ids.
* **Commerce funnel.**  ``Sign Up`` → ``View Item`` → ``Add To Cart`` → ``Begin Checkout`` → ``Purchase``:
  an item viewed may be added to the cart; identified users with a cart start a checkout, which ends in a
  purchase 65 % of the time, in the same or a later session (minutes to days after the add).
* **Duplicates.**  Each event after the first of a session is, with probability :data:`DUPLICATE_RATE`, an exact
  resend of the previous one (same name, ``distinct_id``, ``time``, ``$insert_id`` and properties), as a client
  retry would produce: about 0.5 % of all records (:data:`DUPLICATE_SHARE`).  They count towards ``events``
  and follow their original directly.  ``$insert_id`` is ``<session number>-<8 random hex>-<position>``.
* **Properties.**  Default properties of the device (``$os``, ``$screen_width``, ``mp_lib``; web clients also
  ``$browser``, ``$browser_version``, ``$current_url``, ``$referrer``, ``$referring_domain`` and, for campaign
  traffic only, ``utm_*``; mobile web and apps ``$device``), geography (``$city``, ``$region``,
  ``mp_country_code``), ``logged_in`` (bool) on every event, ``plan`` and ``company_id`` (the group key, for
  members of a company) on identified events, and per event: ``item_id``/``item_category``/``price``/``tags``
  (View Item), ``quantity``/``cart_items`` (Add To Cart, Begin Checkout, Purchase),
  ``is_first_purchase``/``payment_method`` (Purchase), ``search_term`` (Search), ``signup_method`` (Sign Up).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time as _time
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from mixhouse.demo import _catalog as cat

__all__ = [
    "DUPLICATE_RATE",
    "DUPLICATE_SHARE",
    "EVENT_NAMES",
    "GROUP_KEY",
    "MULTI_DEVICE_SHARE",
    "SIGNUP_SHARE",
    "DemoConfig",
    "generate_event_batches",
    "generate_events",
    "generate_group_updates",
    "generate_profile_updates",
]

#: Every event name the generator emits.
EVENT_NAMES: tuple[str, ...] = cat.GENERIC_EVENTS + cat.STATEFUL_EVENTS
#: The group key of the demo's group analytics (an event property and the ``$group_key`` of group updates).
GROUP_KEY = "company_id"

#: Probability that a non-first event of a session is an exact resend of the previous event.
DUPLICATE_RATE = 0.0065
#: Resulting share of duplicate records among all generated events (≈ DUPLICATE_RATE x the non-first share).
DUPLICATE_SHARE = 0.005
#: Share of users who sign up (the others stay anonymous).
SIGNUP_SHARE = 0.62
#: Share of signed-up users who also use a second device.
MULTI_DEVICE_SHARE = 0.18
#: Share of signed-up users who belong to a company (their identified events carry ``company_id``).
COMPANY_SHARE = 0.45

_SECOND_DEVICE_SESSION = 0.35  # a multi-device user's session happens on the second device
_DEVICE_ID_ON_IDENTIFIED = 0.85  # identified sessions that also send $device_id
_ADD_TO_CART = 0.40  # after View Item
_CHECKOUT = 0.12  # per event, identified users with a cart
_CHECKOUT_COMPLETES = 0.65
_CART_CAP = 10
_ELIGIBLE_AFTER = 3600  # seconds between a user's first visit and their next session
_SESSION_COOLDOWN = 60  # seconds between two sessions of one user, at least


@dataclass(frozen=True)
class DemoConfig:
    """What to generate.  Events span ``[end - days, end)``; ``end`` defaults to today 00:00 UTC."""

    seed: int = 42
    events: int = 100_000
    users: int | None = None
    end: datetime | None = None
    days: int = 30

    def __post_init__(self) -> None:
        if self.events < 0:
            raise ValueError("events must be >= 0")
        if self.days < 1:
            raise ValueError("days must be >= 1")
        if self.users is not None and self.users < 1:
            raise ValueError("users must be >= 1")

    @property
    def planned_users(self) -> int:
        return self.users if self.users is not None else max(50, self.events // 40)

    @property
    def end_ts(self) -> int:
        """``end`` in epoch seconds (a naive ``end`` is taken as UTC)."""
        end = self.end
        if end is None:
            end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        elif end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        return math.floor(end.timestamp())


# --- public API -------------------------------------------------------------------------------------------------


def generate_events(config: DemoConfig) -> Iterator[dict[str, Any]]:
    """Exactly ``config.events`` ``/import`` events, in non-decreasing ``time`` order."""
    plan = _Plan(config)
    return _simulate(plan, emit=True, purchases=[0] * plan.n)


def generate_event_batches(config: DemoConfig, batch_size: int = 2000) -> Iterator[list[dict[str, Any]]]:
    """:func:`generate_events` in lists of ``batch_size`` (the last one may be shorter)."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    events = generate_events(config)
    while True:
        batch = list(itertools.islice(events, batch_size))
        if not batch:
            return
        yield batch


def generate_profile_updates(config: DemoConfig) -> Iterator[dict[str, Any]]:
    """``/engage`` updates for every user who signs up in :func:`generate_events` (one operation per object).

    Per user, in user order: ``$set`` (``$name``, ``$email``, ``plan``, ``$created`` = the Sign Up time,
    ``company_id`` for company members), ``$set_once`` (``initial_referrer``), ``$add`` (``purchases`` = the
    user's Purchase events, duplicates excluded; omitted when zero) and ``$union`` (``favorite_categories``).
    """
    plan = _Plan(config)
    purchases = [0] * plan.n
    for _ in _simulate(plan, emit=False, purchases=purchases):
        pass
    companies = _company_ids(config)
    for u in range(plan.n):
        if not plan.signup[u]:
            continue
        uid = _user_id(u)
        first, last = cat.FIRST_NAMES[plan.first_name[u]], cat.LAST_NAMES[plan.last_name[u]]
        props: dict[str, Any] = {
            "$name": f"{first} {last}",
            "$email": f"{first.lower()}.{last.lower()}{u + 1}@example.com",
            "plan": plan.plan[u],
            "$created": _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(plan.signup_at[u])),
        }
        if plan.company[u] >= 0:
            props[GROUP_KEY] = companies[plan.company[u]]
        yield {"$distinct_id": uid, "$set": props}
        yield {"$distinct_id": uid, "$set_once": {"initial_referrer": cat.REFERRERS[plan.init_ref[u]][0]}}
        if purchases[u]:
            yield {"$distinct_id": uid, "$add": {"purchases": purchases[u]}}
        yield {
            "$distinct_id": uid,
            "$union": {"favorite_categories": [cat.CATEGORIES[c] for c in plan.favorites[u]]},
        }


def generate_group_updates(config: DemoConfig) -> Iterator[dict[str, Any]]:
    """``/groups`` ``$set`` updates (``name``, ``industry``, ``employees``) for every ``company_id`` value."""
    rng = random.Random(_subseed(config.seed, "companies"))
    combos = [(p, s) for p in range(len(cat.COMPANY_PREFIXES)) for s in range(len(cat.COMPANY_SUFFIXES))]
    rng.shuffle(combos)
    for index, group_id in enumerate(_company_ids(config)):
        prefix, suffix = combos[index % len(combos)]
        name = f"{cat.COMPANY_PREFIXES[prefix]} {cat.COMPANY_SUFFIXES[suffix]}"
        if index >= len(combos):
            name += f" {index // len(combos) + 1}"
        employees = max(2, round(math.exp(rng.gauss(4.0, 1.6))))
        industry = cat.INDUSTRIES[_weighted_index(rng, _INDUSTRY_CUM)]
        yield {
            "$group_key": GROUP_KEY,
            "$group_id": group_id,
            "$set": {"name": name, "industry": industry, "employees": employees},
        }


# --- tables -----------------------------------------------------------------------------------------------------


def _subseed(seed: int, stream: str) -> str:
    return f"mixhouse-demo:{seed}:{stream}"


def _user_id(u: int) -> str:
    return f"user_{u + 1:05d}"


def _company_count(config: DemoConfig) -> int:
    return max(5, config.planned_users // 25)


def _company_ids(config: DemoConfig) -> list[str]:
    return [f"company_{c + 1:04d}" for c in range(_company_count(config))]


def _pick_table(weights: Sequence[float], bits: int) -> list[int]:
    """A lookup table of ``2**bits`` indexes in proportion to ``weights`` (largest remainder rounding)."""
    size = 1 << bits
    total = float(sum(weights))
    exact = [w * size / total for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: size - sum(counts)]:
        counts[i] += 1
    table: list[int] = []
    for i, count in enumerate(counts):
        table.extend([i] * count)
    return table


def _zipf(n: int, exponent: float) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(n)]


def _weighted_index(rng: random.Random, cum: Sequence[float]) -> int:
    return min(bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


_INDUSTRY_CUM = list(accumulate(_zipf(len(cat.INDUSTRIES), 0.8)))

_GENERIC_WEIGHTS = _zipf(len(cat.GENERIC_EVENTS), 1.05)
_GEN_LOGGED: list[str] = [cat.GENERIC_EVENTS[i] for i in _pick_table(_GENERIC_WEIGHTS, 12)]
_ANON_INDEXES = [i for i, name in enumerate(cat.GENERIC_EVENTS) if name not in cat.LOGGED_IN_ONLY]
_GEN_ANON: list[str] = [
    cat.GENERIC_EVENTS[_ANON_INDEXES[i]] for i in _pick_table([_GENERIC_WEIGHTS[i] for i in _ANON_INDEXES], 12)
]

# Session lengths 1..15 (mean ≈ 4.7) and in-session gaps in seconds (median ≈ 30 s, capped at 15 min).
_SESSION_LENGTHS: list[int] = [
    i + 1
    for i in _pick_table((0.10, 0.14, 0.15, 0.14, 0.12, 0.09, 0.07, 0.05, 0.04, 0.03, 0.02, 0.02, 0.01, 0.01, 0.01), 8)
]
_GAPS: list[int] = [min(900, round(3 + 25 * ((k + 0.5) / 256 / (1 - (k + 0.5) / 256)) ** 0.8)) for k in range(256)]
_QUANTITIES: list[int] = [1 + i for i in _pick_table((70, 20, 7, 3), 6)]

_PROFILES = cat.device_profiles()
_PROFILE_PROPS: list[dict[str, Any]] = [p for p, _, _ in _PROFILES]
_PROFILE_WEB: list[bool] = [web for _, _, web in _PROFILES]
_PROFILE_PICK = _pick_table([w for _, w, _ in _PROFILES], 14)
_GEO_PROPS: list[dict[str, Any]] = [
    {"$city": city, "$region": region, "mp_country_code": cc} for city, region, cc in cat.CITIES
]
_GEO_PICK = _pick_table(_zipf(len(cat.CITIES), 0.9), 12)
_REF_PROPS: list[dict[str, Any]] = []
for _ref, _domain, _utm, _medium, _campaign, _ in cat.REFERRERS:
    _props: dict[str, Any] = {"$referrer": _ref, "$referring_domain": _domain}
    if _utm is not None:
        _props.update({"utm_source": _utm, "utm_medium": _medium, "utm_campaign": _campaign})
    _REF_PROPS.append(_props)
_REF_PICK = _pick_table([r[5] for r in cat.REFERRERS], 12)
_PLAN_PICK = _pick_table(cat.PLAN_WEIGHTS, 10)
_SIGNUP_METHOD_PICK = _pick_table(cat.SIGNUP_METHOD_WEIGHTS, 8)
_PAYMENT_PICK = _pick_table(cat.PAYMENT_METHOD_WEIGHTS, 8)
_SEARCH_PICK = _pick_table(_zipf(len(cat.SEARCH_TERMS), 1.0), 10)
_SEARCH_URLS = [f"{cat.SITE}/search?q={term.replace(' ', '+')}" for term in cat.SEARCH_TERMS]
_PAGE_URLS = [cat.SITE + path for path in cat.PAGE_PATHS]
_PAGE_PICK = _pick_table(_zipf(len(cat.PAGE_PATHS), 1.2), 10)
_CATEGORY_URLS = [f"{cat.SITE}/c/{c.lower()}" for c in cat.CATEGORIES]
_CATEGORY_PICK = _pick_table(_zipf(len(cat.CATEGORIES), 0.7), 10)
_EVENT_URLS: dict[str, str] = {name: cat.SITE + path for name, path in cat.EVENT_PATHS.items()}
_LIST_PROPS = ("tags", "cart_items")
_POSITIONS = [f"{i:x}" for i in range(256)]  # sessions are at most 15 events long
_ITEMS_PER_CATEGORY = 12
_CATEGORY_BASE_PRICE = (89.0, 18.0, 35.0, 60.0, 45.0, 25.0, 22.0, 30.0, 12.0)


class _Catalog:
    """The shop's items (drawn from the seed): parallel lists indexed by item."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(_subseed(seed, "catalog"))
        self.ids: list[str] = []
        self.names: list[str] = []
        self.category: list[str] = []
        self.price: list[float] = []
        self.tags: list[tuple[str, ...]] = []
        self.url: list[str] = []
        self.by_category: list[list[int]] = []
        for c, category in enumerate(cat.CATEGORIES):
            nouns = cat.CATEGORY_NOUNS[category]
            combos = rng.sample(range(len(cat.ITEM_ADJECTIVES) * len(nouns)), _ITEMS_PER_CATEGORY)
            members: list[int] = []
            for combo in combos:
                index = len(self.ids)
                members.append(index)
                item_id = f"sku-{index + 1:04d}"
                self.ids.append(item_id)
                adjective, noun = divmod(combo, len(nouns))
                self.names.append(f"{cat.ITEM_ADJECTIVES[adjective]} {nouns[noun]}")
                self.category.append(category)
                price = max(1.99, round(_CATEGORY_BASE_PRICE[c] * math.exp(rng.gauss(0.0, 0.5))) - 0.01)
                self.price.append(round(price, 2))
                self.tags.append(tuple(rng.sample(cat.TAGS, 1 + int(rng.random() * 3))))
                self.url.append(f"{cat.SITE}/item/{item_id}")
            self.by_category.append(members)
        # Item popularity is Zipf-like, in a seed-dependent order.
        order = list(range(len(self.ids)))
        rng.shuffle(order)
        self.pick = [order[i] for i in _pick_table(_zipf(len(order), 1.0), 12)]
        self.pick_in_category = [
            [members[i] for i in _pick_table(_zipf(len(members), 1.0), 8)] for members in self.by_category
        ]


def _sorted_uniforms(rng: random.Random, count: int) -> Iterator[float]:
    """``count`` independent uniforms on [0, 1) in ascending order, streamed (no sort, O(1) memory)."""
    x = 1.0
    for remaining in range(count, 0, -1):
        x *= rng.random() ** (1.0 / remaining)
        yield 1.0 - x


class _HourlyDensity:
    """A piecewise-constant density over the window's hours; maps a uniform to a time (monotonically)."""

    def __init__(self, start: int, weights: Sequence[float]) -> None:
        self.start = start
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]
        self.last = len(self.cum) - 1

    def time(self, uniform: float) -> int:
        y = uniform * self.total
        cum = self.cum
        h = bisect_right(cum, y)
        if h > self.last:
            h = self.last
        lo = cum[h - 1] if h else 0.0
        width = cum[h] - lo
        frac = (y - lo) / width if width > 0 else 0.0
        return self.start + h * 3600 + min(3599, max(0, int(frac * 3600)))


class _Plan:
    """Everything decided per user before any event (O(users)); shared by events and profiles."""

    def __init__(self, config: DemoConfig) -> None:
        self.seed = config.seed
        self.events = config.events
        self.end = config.end_ts
        self.start = self.end - config.days * 86400
        self.catalog = _Catalog(config.seed)
        start = self.start
        hours = config.days * 24
        season = [
            cat.HOURLY_WEIGHTS[((start + h * 3600) // 3600) % 24]
            * cat.WEEKDAY_WEIGHTS[((start + h * 3600) // 86400 + 3) % 7]
            for h in range(hours)
        ]
        acq_weights = [season[h] * (1.0 + 8.0 * math.exp(-h / 24.0)) for h in range(hours)]
        acquisition = _HourlyDensity(start, acq_weights)
        acq_cum = acquisition.cum
        # Later sessions: seasonality x the share of users acquired (and eligible) by then.
        self.sessions = _HourlyDensity(
            start, [season[h] * ((acq_cum[h - 1] / acquisition.total) ** 0.6 if h else 0.0) for h in range(hours)]
        )

        planned = config.planned_users
        n_companies = _company_count(config)
        company_cum = list(accumulate(_zipf(n_companies, 1.1)))
        rng = random.Random(_subseed(config.seed, "users"))
        ranks = list(range(planned))
        rng.shuffle(ranks)
        rand = rng.random
        bits = rng.getrandbits
        n_categories = len(cat.CATEGORIES)
        first_budget = config.events // 2

        self.acq: list[int] = []
        self.weight: list[float] = []
        self.signup: list[bool] = []
        self.signup_at: list[int] = []
        self.n_anon: list[int] = []
        self.gap: list[int] = []
        self.first_len: list[int] = []
        self.device_ids: list[tuple[str, ...]] = []
        self.device_profiles: list[tuple[int, ...]] = []
        self.geo: list[int] = []
        self.plan: list[str] = []
        self.company: list[int] = []
        self.favorites: list[tuple[int, ...]] = []
        self.init_ref: list[int] = []
        self.first_name: list[int] = []
        self.last_name: list[int] = []
        used = 0
        for u, uniform in enumerate(_sorted_uniforms(rng, planned)):
            acq = acquisition.time(uniform)
            signup = rand() < SIGNUP_SHARE
            n_devices = 2 if signup and rand() < MULTI_DEVICE_SHARE else 1
            device_ids = tuple(_uuid4(bits(128)) for _ in range(n_devices))
            device_profiles = tuple(_PROFILE_PICK[bits(14)] for _ in range(n_devices))
            if signup:
                n_anon = 1 + int(rand() * 3)
                first_len = n_anon + 1 + int(rand() * 5)
            else:
                n_anon = 0
                first_len = 1 + int(rand() * 6)
            gap = 20 + int(rand() * 220)
            fav_first = _CATEGORY_PICK[bits(10)]
            favorites = (fav_first, (fav_first + 1 + int(rand() * (n_categories - 1))) % n_categories)
            company = _weighted_index(rng, company_cum) if signup and rand() < COMPANY_SHARE else -1
            plan = cat.PLANS[_PLAN_PICK[bits(10)]]
            geo = _GEO_PICK[bits(12)]
            init_ref = _REF_PICK[bits(12)] if _PROFILE_WEB[device_profiles[0]] else 0
            first_name, last_name = bits(16) % len(cat.FIRST_NAMES), bits(16) % len(cat.LAST_NAMES)
            if used + first_len > first_budget:
                if u or not config.events:
                    break
                # Tiny datasets: the first user alone, with a first visit cut to fit.
                first_len = min(first_len, config.events)
                if first_len < n_anon + 1:
                    signup, n_anon = False, 0
            used += first_len
            self.acq.append(acq)
            self.weight.append(((ranks[u] + 0.5) / planned + 0.01) ** -1.2)
            self.signup.append(signup)
            self.signup_at.append(acq + n_anon * gap if signup else -1)
            self.n_anon.append(n_anon)
            self.gap.append(gap)
            self.first_len.append(first_len)
            self.device_ids.append(device_ids)
            self.device_profiles.append(device_profiles)
            self.geo.append(geo)
            self.plan.append(plan)
            self.company.append(company)
            self.favorites.append(favorites)
            self.init_ref.append(init_ref)
            self.first_name.append(first_name)
            self.last_name.append(last_name)
        self.n = len(self.acq)
        self.first_events = used
        self.eligible = [a + _ELIGIBLE_AFTER for a in self.acq]
        self.cum_weight = list(accumulate(self.weight))


def _uuid4(value: int) -> str:
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[value & 3]}{h[17:20]}-{h[20:]}"


# --- the simulation ---------------------------------------------------------------------------------------------


def _simulate(plan: _Plan, *, emit: bool, purchases: list[int]) -> Iterator[dict[str, Any]]:
    """Run the behaviour model; yield the events when ``emit`` (else only fill ``purchases``).

    Behaviour (which events, when, by whom) draws only from ``rs`` and the length/time streams, property values
    only from ``rp``, so a run with ``emit=False`` makes exactly the same behavioural decisions, cheaply.
    """
    n = plan.n
    if n == 0 or plan.events == 0:
        return
    seed = plan.seed
    rs = random.Random(_subseed(seed, "behaviour"))
    rp = random.Random(_subseed(seed, "properties"))
    rsr, rsb = rs.random, rs.getrandbits
    rpr, rpb = rp.random, rp.getrandbits
    last_second = plan.end - 1
    # Queued sessions: (time of the next event, session order, index of the next event, times, events).
    heap: list[tuple[int, int, int, list[int], list[dict[str, Any]]]] = []
    push, pop, replace = heapq.heappush, heapq.heappop, heapq.heapreplace
    seq = itertools.count()  # heap tie-breaker: keeps equal times in generation order
    sessions = itertools.count()

    signups, n_anon, gaps = plan.signup, plan.n_anon, plan.gap
    device_ids, device_profiles = plan.device_ids, plan.device_profiles
    geo, init_ref, plans, favorites = plan.geo, plan.init_ref, plan.plan, plan.favorites
    company_ids = [f"company_{c + 1:04d}" for c in range(max(plan.company, default=-1) + 1)]
    companies = plan.company
    user_ids = [_user_id(u) if signups[u] else "" for u in range(n)]
    catalog = plan.catalog
    item_ids, item_category, item_price, item_tags, item_url = (
        catalog.ids,
        catalog.category,
        catalog.price,
        catalog.tags,
        catalog.url,
    )
    item_pick, item_pick_in_category = catalog.pick, catalog.pick_in_category
    cart_n = [0] * n
    carts: dict[int, list[tuple[int, int]]] = {}
    linked = [False] * n
    busy = [0] * n
    gen_logged, gen_anon, gap_table = _GEN_LOGGED, _GEN_ANON, _GAPS
    profile_props, profile_web, geo_props = _PROFILE_PROPS, _PROFILE_WEB, _GEO_PROPS
    ref_props, ref_pick = _REF_PROPS, _REF_PICK
    event_urls = _EVENT_URLS
    dup_rate = DUPLICATE_RATE
    view_item, add_to_cart, begin_checkout, purchase = (
        cat.VIEW_ITEM,
        cat.ADD_TO_CART,
        cat.BEGIN_CHECKOUT,
        cat.PURCHASE,
    )

    def session(u: int, start: int, length: int, first: bool) -> None:
        signup = signups[u]
        dev = 0
        special = -1
        anon_until = length
        special_name = cat.SIGN_UP
        if first:
            if signup:
                anon_until = special = n_anon[u]
        elif signup:
            anon_until = 0
            if len(device_ids[u]) > 1:
                if not linked[u]:
                    # The first later session of a two-device user happens on the new device (an app install,
                    # say): anonymous, then merged by a Log In carrying both ids.
                    if length > 1:
                        dev = 1
                        linked[u] = True
                        anon_until = special = 1 if length < 4 or rsr() < 0.5 else 2
                        special_name = cat.LOG_IN
                elif rsr() < _SECOND_DEVICE_SESSION:
                    dev = 1

        web = False
        id_prefix = ""
        anon_base: dict[str, Any] = {}
        both_base: dict[str, Any] = {}
        user_base: dict[str, Any] = {}
        if emit:
            uuid = device_ids[u][dev]
            profile = device_profiles[u][dev]
            web = profile_web[profile]
            common = profile_props[profile].copy()
            common.update(geo_props[geo[u]])
            if web:
                common.update(ref_props[init_ref[u] if first else ref_pick[rpb(12)]])
            # $insert_id = <session number>-<random>-<position in session>: unique, deterministic, <= 36 chars.
            id_prefix = f"{next(sessions):x}-{rpb(32):08x}-"
            if anon_until:
                anon_base = common.copy()
                anon_base["distinct_id"] = "$device:" + uuid
                anon_base["$device_id"] = uuid
                anon_base["logged_in"] = False
            if signup and anon_until < length:
                uid = user_ids[u]
                both_base = common
                both_base["distinct_id"] = uid
                both_base["$device_id"] = uuid
                both_base["$user_id"] = uid
                both_base["logged_in"] = True
                both_base["plan"] = plans[u]
                if companies[u] >= 0:
                    both_base[GROUP_KEY] = company_ids[companies[u]]
                if special >= 0 or rpr() < _DEVICE_ID_ON_IDENTIFIED:
                    user_base = both_base
                else:
                    user_base = both_base.copy()
                    del user_base["$device_id"]

        t = start
        g = gaps[u] if first and signup else 0
        last_name = ""
        pending = False
        prev: dict[str, Any] = {}
        ev_times: list[int] = []
        evs: list[dict[str, Any]] = []
        last_item = 0
        for i in range(length):
            if i:
                if i != special and rsr() < dup_rate:
                    if emit:
                        props = prev["properties"].copy()
                        for key in _LIST_PROPS:
                            if key in props:
                                props[key] = list(props[key])
                        ev_times.append(props["time"])
                        evs.append({"event": prev["event"], "properties": props})
                    continue
                if i <= special and first:
                    t = start + i * g
                else:
                    t += gap_table[rsb(8)]
                if t > last_second:
                    t = last_second
            if i == special:
                name = special_name
                logged = True
            else:
                logged = i >= anon_until
                r = rsr()
                if pending:
                    pending = False
                    name = purchase if r < _CHECKOUT_COMPLETES else gen_logged[rsb(12)]
                elif logged and cart_n[u] and r < _CHECKOUT:
                    name = begin_checkout
                    pending = True
                elif last_name == view_item and r < _ADD_TO_CART:
                    name = add_to_cart
                    if cart_n[u] < _CART_CAP:
                        cart_n[u] += 1
                else:
                    name = (gen_logged if logged else gen_anon)[rsb(12)]
                if name == purchase:
                    purchases[u] += 1
                    cart_n[u] = 0
            last_name = name
            if not emit:
                continue

            if i == special:
                p = both_base.copy()
            elif logged:
                p = user_base.copy()
            else:
                p = anon_base.copy()
            p["time"] = t
            p["$insert_id"] = id_prefix + _POSITIONS[i]
            if name == view_item:
                item = item_pick_in_category[favorites[u][rpb(1)]][rpb(8)] if rpb(1) else item_pick[rpb(12)]
                last_item = item
                p["item_id"] = item_ids[item]
                p["item_category"] = item_category[item]
                p["price"] = item_price[item]
                p["tags"] = list(item_tags[item])
                if web:
                    p["$current_url"] = item_url[item]
            elif name == cat.PAGE_VIEW:
                if web:
                    p["$current_url"] = _PAGE_URLS[_PAGE_PICK[rpb(10)]]
            elif name == add_to_cart:
                quantity = _QUANTITIES[rpb(6)]
                cart = carts.setdefault(u, [])
                cart.append((last_item, quantity))
                if len(cart) > _CART_CAP:
                    del cart[0]
                p["item_id"] = item_ids[last_item]
                p["item_category"] = item_category[last_item]
                p["price"] = item_price[last_item]
                p["quantity"] = quantity
                p["cart_items"] = [item_ids[k] for k, _ in cart]
                if web:
                    p["$current_url"] = item_url[last_item]
            elif name in (begin_checkout, purchase):
                cart = carts.pop(u, []) if name == purchase else carts.get(u, [])
                p["price"] = round(sum(item_price[k] * q for k, q in cart), 2)
                p["quantity"] = sum(q for _, q in cart)
                p["cart_items"] = [item_ids[k] for k, _ in cart]
                if name == purchase:
                    p["is_first_purchase"] = purchases[u] == 1
                    p["payment_method"] = cat.PAYMENT_METHODS[_PAYMENT_PICK[rpb(8)]]
                if web:
                    p["$current_url"] = event_urls[name]
            elif name == cat.SEARCH:
                term = _SEARCH_PICK[rpb(10)]
                p["search_term"] = cat.SEARCH_TERMS[term]
                if web:
                    p["$current_url"] = _SEARCH_URLS[term]
            elif name == cat.VIEW_CATEGORY:
                category = favorites[u][0] if rpb(1) else _CATEGORY_PICK[rpb(10)]
                p["item_category"] = cat.CATEGORIES[category]
                if web:
                    p["$current_url"] = _CATEGORY_URLS[category]
            else:
                if name == cat.SIGN_UP:
                    p["signup_method"] = cat.SIGNUP_METHODS[_SIGNUP_METHOD_PICK[rpb(8)]]
                if web:
                    p["$current_url"] = event_urls[name]
            event = {"event": name, "properties": p}
            ev_times.append(t)
            evs.append(event)
            prev = event
        busy[u] = t + _SESSION_COOLDOWN
        if evs:
            push(heap, (ev_times[0], next(seq), 0, ev_times, evs))

    acq, first_len = plan.acq, plan.first_len
    eligible, cum_weight = plan.eligible, plan.cum_weight
    session_time = plan.sessions.time
    lengths = _SESSION_LENGTHS
    repeat_events = plan.events - plan.first_events
    # Count the later sessions first (same stream, replayed below), to stream their sorted start times.
    length_bits = random.Random(_subseed(seed, "lengths")).getrandbits
    n_sessions = used = 0
    while used < repeat_events:
        used += lengths[length_bits(8)]
        n_sessions += 1
    length_bits = random.Random(_subseed(seed, "lengths")).getrandbits
    uniforms = _sorted_uniforms(random.Random(_subseed(seed, "times")), n_sessions)

    # Sessions start in time order: first visits (by acquisition) merged with later sessions (sorted times).
    # Before a session starts at t, every queued event at or before t is final: later events are >= t.
    never = last_second + 1
    fi = 0
    used = 0
    next_repeat = session_time(next(uniforms)) if n_sessions else never
    while True:
        first = fi < n and acq[fi] <= next_repeat
        t = acq[fi] if first else next_repeat
        if t == never:
            t = never + 1
        while heap and heap[0][0] <= t:
            _, order, i, ev_times, evs = heap[0]
            yield evs[i]
            i += 1
            if i < len(evs):
                replace(heap, (ev_times[i], order, i, ev_times, evs))
            else:
                pop(heap)
        if t > never:
            return
        if first:
            session(fi, t, first_len[fi], True)
            fi += 1
            continue
        length = lengths[length_bits(8)]
        if used + length > repeat_events:
            length = repeat_events - used
        used += length
        k = bisect_right(eligible, t)
        if k:
            total = cum_weight[k - 1]
            for _ in range(3):
                u = bisect_right(cum_weight, rsr() * total, 0, k)
                if u >= k:
                    u = k - 1
                if busy[u] <= t:
                    break
        else:
            u = 0
        start = max(t, busy[u], eligible[u])
        session(u, min(start, last_second), length, False)
        next_repeat = session_time(next(uniforms)) if used < repeat_events else never
