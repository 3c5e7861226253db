"""The synthetic bank: population, ordinary activity, planted patterns, ground truth.

``simulate(SimulationParams(...))`` returns the three tables of SPEC §10;
``write_simulation`` writes them, and ``simulation.json``: the parameters and the calendar
the business days came from (:func:`simulation_metadata`), with a note when its holidays
were estimated, as a scan's manifest has. The same parameters (seed included) give identical
tables and files. Randomness is split per stage (population, background, patterns)
from the one seed, so changing the typology mix does not change the background; the
background draws each calendar day from a generator of its own, so the bank is made one
day at a time (:func:`plan_bank`, :meth:`BankPlan.days`) and ``simulate`` puts the days
together: streamed into a store (:func:`flowgraph.simulate.simulate_into`) it is the
same bank.

A planted pattern's row in ``patterns`` says what a detector should find: ``subject``
and ``subject_role`` (which account that is), ``layers`` (its accounts in the order money
reaches them), ``hops``, ``currency`` (of ``amount``, ``phi`` and ``ceiling``), its days
and amount.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._files import write_atomically, write_parquet
from ..calendar import BusinessCalendar, prc_calendar
from ..ceiling import W
from ..config import get_rule_set
from ..errors import ConfigError
from .background import EXTERNAL, Background, Events
from .lookalikes import LOOKALIKES, LookalikeSupply
from .population import MULE, SEGMENTS, Population, make_population
from .trafficking import (TRAFFICKING_LOOKALIKES, TRAFFICKING_NAMES, TRAFFICKING_TYPOLOGIES, account_context,
                          background_context)
from .typologies import ADAPTIVE, LOOKALIKE, NAIVE, InjectionContext, Planted
from .typologies import TYPOLOGIES as MONEY_LAUNDERING_TYPOLOGIES

#: Every planted typology and look-alike kind (the trafficking ones last: planted after the
#: others, so adding them leaves the others as they were).
TYPOLOGIES = {**MONEY_LAUNDERING_TYPOLOGIES, **TRAFFICKING_TYPOLOGIES}
LOOKALIKES = {**LOOKALIKES, **TRAFFICKING_LOOKALIKES}

PATTERN_COLUMNS = ("pattern_id", "typology", "behaviour", "accounts", "subject", "n_accounts",
                   "first_day", "last_day", "n_days", "amount", "channel", "phi", "ceiling",
                   "utilisation", "n_txns", "currency", "subject_role", "hops", "layers")
WEEKS = ("business", "seven_day")
#: Currencies whose Φ the rule sets give (``threshold_home`` / ``threshold_foreign``).
CURRENCIES = ("CNY", "USD")


@dataclass(frozen=True)
class SimulationParams:
    """Parameters of :func:`simulate`.

    Parameters
    ----------
    n_customers : int
        Customers of the bank (persons and entities), ≥ 50.
    n_days : int
        Business days simulated, ≥ 10.
    start : str
        First calendar date (the first business day on or after it starts the run).
    seed : int
        The only source of randomness.
    patterns_per_typology : int, optional
        Planted patterns of each laundering typology; default ``max(2, n_customers // 600)`` (a small bank
        has room in its recruiting pool for a few of each of the thirteen typologies).
    typology_mix : dict, optional
        Typology name -> number of patterns, overriding ``patterns_per_typology`` for the
        named ones (0 leaves a typology out).
    adaptive_share : float
        Share of each typology's patterns played by adaptive launderers (rounded; the
        rest naive).
    lookalikes_per_kind : int, optional
        Benign look-alikes of each kind; default ``max(2, n_customers // 1500)``.
    pass_through_tolerance : float
        Largest fee an adaptive intermediary keeps per hop (share of the amount); the
        detectors' default tolerance is 0.05 (SPEC §3.2).
    activity_scale : float
        Multiplies every ordinary-activity rate.
    recruit_pool_share : float
        Share of persons launderers can recruit accounts from (each pattern takes fresh
        ones); raise it for many patterns in a small bank. The default 0.25 leaves room
        for the multi-hop typologies' degree-1 intermediaries at the default mix.
    rule_set : str
        Name of the rule set whose thresholds are Φ (``flowgraph.config.RULE_SETS``).
    week : {"business", "seven_day"}
        ``"business"``: activity on the PRC business days (weekend card payments aside);
        ``n_days`` counts business days. ``"seven_day"``: every calendar day is a working
        day, weekends and holidays included (AMLworld, card networks); ``n_days`` counts
        calendar days, and the planted patterns' windows, "frequent" spacing and
        ``n_days`` column are in calendar days.
    trafficking_per_typology : int
        Planted patterns of each human-trafficking typology and look-alike kind
        (:mod:`.trafficking`); with any, the transactions get the optional context columns
        ``counterparty_country`` and ``branch_id``. Default 0: none, and no such columns.
    currency : {"CNY", "USD"}
        Currency of the planted laundering and of the Φ-sized look-alikes; their amounts
        sit just under / over this currency's thresholds in ``rule_set``
        (``threshold_home`` or ``threshold_foreign``). Ordinary activity is unchanged.
    """

    n_customers: int = 3_000
    n_days: int = 60
    start: str = "2024-09-02"
    seed: int = 0
    patterns_per_typology: int | None = None
    typology_mix: dict | None = field(default=None, hash=False)
    adaptive_share: float = 0.5
    lookalikes_per_kind: int | None = None
    pass_through_tolerance: float = 0.02
    activity_scale: float = 1.0
    recruit_pool_share: float = 0.25
    rule_set: str = "PBOC-2016"
    week: str = "business"
    currency: str = "CNY"
    trafficking_per_typology: int = 0

    def __post_init__(self) -> None:
        def bad(name, rng, value):
            raise ConfigError(f"The '{name}' parameter of SimulationParams must be {rng}. Got {value!r} instead.")
        if not (isinstance(self.n_customers, int) and self.n_customers >= 50):
            bad("n_customers", "an int in the range [50, inf)", self.n_customers)
        if not (isinstance(self.n_days, int) and self.n_days >= 10):
            bad("n_days", "an int in the range [10, inf)", self.n_days)
        if not (isinstance(self.trafficking_per_typology, int) and self.trafficking_per_typology >= 0):
            bad("trafficking_per_typology", "an int in the range [0, inf)", self.trafficking_per_typology)
        if not 0 <= self.adaptive_share <= 1:
            bad("adaptive_share", "a float in the range [0, 1]", self.adaptive_share)
        if not 0 <= self.pass_through_tolerance < 0.05:
            bad("pass_through_tolerance", "a float in the range [0, 0.05)", self.pass_through_tolerance)
        if not 0 < self.recruit_pool_share <= 0.9:
            bad("recruit_pool_share", "a float in the range (0, 0.9]", self.recruit_pool_share)
        if not self.activity_scale > 0:
            bad("activity_scale", "a float in the range (0, inf)", self.activity_scale)
        for name, n in (self.typology_mix or {}).items():
            if name not in TYPOLOGIES and name not in LOOKALIKES:
                bad("typology_mix", f"a dict with keys from {sorted(TYPOLOGIES) + sorted(LOOKALIKES)}", name)
            if not (isinstance(n, int) and n >= 0):
                bad("typology_mix", "a dict of ints in the range [0, inf)", n)
        try:
            np.datetime64(self.start, "D")
        except ValueError:
            bad("start", "a date written YYYY-MM-DD", self.start)
        if self.week not in WEEKS:
            bad("week", f"a str among {list(WEEKS)}", self.week)
        if self.currency not in CURRENCIES:
            bad("currency", f"a str among {list(CURRENCIES)}", self.currency)
        get_rule_set(self.rule_set)

    def counts(self) -> dict[str, int]:
        """Patterns to plant per typology and look-alike kind."""
        per_typology = self.patterns_per_typology if self.patterns_per_typology is not None \
            else max(2, self.n_customers // 600)
        per_kind = self.lookalikes_per_kind if self.lookalikes_per_kind is not None \
            else max(2, self.n_customers // 1500)
        counts = {name: per_typology for name in MONEY_LAUNDERING_TYPOLOGIES}
        counts |= {name: per_kind for name in LOOKALIKES if name not in TRAFFICKING_LOOKALIKES}
        counts |= {name: self.trafficking_per_typology for name in TRAFFICKING_NAMES}
        return counts | dict(self.typology_mix or {})


@dataclass
class SimulatedBank:
    """The simulator's output: SPEC §10's three tables, and what its business days rest on
    (``calendar_basis``: :func:`calendar_basis`)."""

    transactions: pd.DataFrame
    accounts: pd.DataFrame
    patterns: pd.DataFrame
    params: SimulationParams
    calendar_basis: dict = field(default_factory=dict)


class _PoolExhausted(Exception):
    """The recruiting pool holds fewer accounts than a pattern asks for (``args[0]``)."""


class _MuleSupply:
    """Fresh recruiting-pool accounts, each used by one pattern only."""

    def __init__(self, accounts: np.ndarray):
        self._accounts = list(accounts)
        self.size = len(self._accounts)

    @property
    def taken(self) -> int:
        return self.size - len(self._accounts)

    def __call__(self, k: int) -> list[int]:
        if len(self._accounts) < k:
            raise _PoolExhausted(k)
        return [int(self._accounts.pop()) for _ in range(k)]


def _pool_exhausted(params: SimulationParams, mules: _MuleSupply, n_planted: int, n_patterns: int,
                    asked: int) -> ConfigError:
    """What to change when the patterns took every recruitable account: the pool's size
    and, at the accounts the patterns planted so far and the one that asked for ``asked``
    more took each, about how many customers all of them would need (the pool grows with
    the customers)."""
    per_pattern = (mules.taken + asked) / (n_planted + 1)
    needed = max(mules.taken + asked, math.ceil(per_pattern * n_patterns))
    customers = math.ceil(params.n_customers * needed / max(mules.size, 1))
    return ConfigError(
        f"the launderers ran out of recruitable accounts: the recruiting pool holds {mules.size:,} (a share of "
        f"{params.recruit_pool_share:g} of the accounts of n_customers {params.n_customers:,}) and {n_planted:,} "
        f"of the {n_patterns:,} patterns took {mules.taken:,}; all of them need about {needed:,}. Fix: raise "
        f"n_customers to about {customers:,} or more, or raise recruit_pool_share, or lower "
        "patterns_per_typology / trafficking_per_typology / typology_mix")


def _planted_events(planted: list[Planted], days: np.ndarray, rng) -> tuple[Events, np.ndarray, dict]:
    """The planted patterns' transactions in calendar-day order (generation order within a
    day), the pattern of each and their context columns (:func:`_planted_context`)."""
    n = sum(len(p.src) for p in planted)
    which = np.repeat(np.arange(len(planted)), [len(p.src) for p in planted])
    cat = lambda attr: np.array([v for p in planted for v in getattr(p, attr)]) if n else np.array([], np.int64)
    slot = cat("slot").astype(np.int64)
    events = Events(
        src=cat("src").astype(np.int64), dst=cat("dst").astype(np.int64),
        date=days[cat("day").astype(np.int64)] if n else np.array([], "datetime64[D]"),
        # 09:30 plus ten minutes a slot, so in-before-out and hop order hold within a day
        second=_planted_seconds(planted, 9 * 3600 + 1800 + slot * 600 + rng.integers(0, 500, n)),
        amount=cat("amount").astype(np.float64),
        currency=np.array([p.currency for p in planted for _ in p.src], dtype=object),
        # a pattern may give each event its channel (context "channel"), else its own
        channel=np.array([c for p in planted for c in ((p.context or {}).get("channel") or [p.channel] * len(p.src))],
                         dtype=object),
    )
    # a late slot may run past midnight: the transaction belongs to the day its timestamp says
    events.date, events.second = events.date + events.second // 86400, events.second % 86400
    order = np.argsort(events.date, kind="stable")
    context = {column: values[order] for column, values in _planted_context(planted).items()}
    return Events(*(getattr(events, f)[order] for f in Events.FIELDS)), which[order], context


def _txn_ids(first: int, n: int) -> np.ndarray:
    """``T`` and ten digits for rows ``first .. first + n - 1`` (Arrow formats them five
    times as fast as ``str.format`` row by row)."""
    digits = pc.utf8_lpad(pa.array(np.arange(first, first + n)).cast(pa.string()), 10, "0")
    return pc.binary_join_element_wise("T", digits, "").to_numpy(zero_copy_only=False)


def _planted_seconds(planted: list[Planted], default: np.ndarray) -> np.ndarray:
    """Times of day of the planted events: as a pattern sets them, else ``default``."""
    given = [np.asarray(p.context["second"]) if p.context else np.full(len(p.src), -1) for p in planted]
    given = np.concatenate(given).astype(np.int64) if given else np.zeros(0, np.int64)
    return np.where(given >= 0, given, default)


def _planted_context(planted: list[Planted]) -> dict[str, np.ndarray]:
    """The planted events' context columns (None where a pattern sets none)."""
    columns = ("branch_id", "counterparty_country")
    return {c: np.array([v for p in planted for v in (p.context[c] if p.context else [None] * len(p.src))],
                        dtype=object) for c in columns}


def _account_names(idx: np.ndarray, account_ids: np.ndarray) -> np.ndarray:
    out = np.full(len(idx), None, dtype=object)
    own = idx >= 0
    out[own] = account_ids[idx[own]]
    ext = idx <= EXTERNAL
    out[ext] = pd.Series(EXTERNAL - idx[ext]).map("EXT{:07d}".format).to_numpy(dtype=object)
    return out


@dataclass
class BankPlan:
    """Everything about a simulated bank that is not one day's transactions: the
    population, the planted patterns (all their transactions, drawn up front so that a
    pattern spanning several days is whole in whichever days hold it) and the background's
    run-long draws. :meth:`days` then draws the bank one calendar day at a time.

    Made by :func:`plan_bank`; its size grows with the population and the patterns, not
    with the number of days.
    """

    params: SimulationParams
    population: Population
    calendar_days: np.ndarray     # datetime64[D]: every date from the first to the last transaction
    background: Background
    pattern_events: Events        # in calendar-day order
    pattern_of_event: np.ndarray  # int64 per pattern event: index into pattern_ids
    # per pattern event, "branch_id" and "counterparty_country" (object arrays), when the
    # transactions get these columns (trafficking pack planted), else None
    pattern_context: dict | None
    pattern_ids: np.ndarray
    planted: list
    accounts: pd.DataFrame
    patterns: pd.DataFrame
    calendar_basis: dict = field(default_factory=dict)  # calendar_basis()

    def days(self) -> Iterator[pd.DataFrame]:
        """The bank's transactions, one calendar day per table (an empty table for a day
        without any), ``txn_id`` numbering on from day to day.

        Day ``k`` draws from its own generators (the seed's background stream, child ``k``,
        and for the context columns the context stream's child ``k``), so the tables do not
        depend on how many days are held at once.
        """
        first_row = 0
        bounds = np.searchsorted(self.pattern_events.date, np.concatenate([self.calendar_days, self.calendar_days[-1:] + 1]))
        is_laundering = np.array([p.behaviour != LOOKALIKE for p in self.planted] + [False])
        typology = np.array([p.typology for p in self.planted] + [None], dtype=object)
        pattern_id = np.append(self.pattern_ids, None)
        for k, date in enumerate(self.calendar_days):
            rng = np.random.default_rng(np.random.SeedSequence(self.params.seed, spawn_key=(_BACKGROUND_STREAM, k)))
            background = self.background.day(date, rng)
            planted = slice(bounds[k], bounds[k + 1])
            events = Events.concat([background, Events(*(getattr(self.pattern_events, f)[planted]
                                                         for f in Events.FIELDS))])
            # in time order; ties keep generation order (background first), so ids are reproducible
            timestamp = events.date.astype("datetime64[s]") + events.second
            order = np.argsort(timestamp, kind="stable")
            pattern_of = np.concatenate([np.full(len(background), -1), self.pattern_of_event[planted]])[order]
            n = len(order)
            table = pd.DataFrame({
                "txn_id": _txn_ids(first_row, n),
                "timestamp": timestamp[order].astype("datetime64[ns]"),
                "src_account": pd.array(_account_names(events.src[order], self.population.account_ids), dtype="string"),
                "dst_account": pd.array(_account_names(events.dst[order], self.population.account_ids), dtype="string"),
                "amount": events.amount[order],
                "currency": events.currency[order],
                "channel": events.channel[order],
                "is_laundering": is_laundering[pattern_of].astype(np.int8),
                "pattern_id": pd.array(pattern_id[pattern_of], dtype="string"),
                "typology": pd.array(typology[pattern_of], dtype="string"),
            })
            if self.pattern_context is not None:
                rng = np.random.default_rng(np.random.SeedSequence(self.params.seed, spawn_key=(_CONTEXT_STREAM, k)))
                for column, values in background_context(background, rng).items():
                    values = np.concatenate([values, self.pattern_context[column][planted]])
                    table[column] = pd.array(values[order], dtype="string")
            yield table
            first_row += n


#: Streams spawned from the seed: population, background, patterns (changing the typology
#: mix does not move the background), and the trafficking pack's patterns and context
#: columns (planting the pack changes nothing drawn from the others).
_POPULATION_STREAM, _BACKGROUND_STREAM, _PATTERN_STREAM, _TRAFFICKING_STREAM, _CONTEXT_STREAM = 0, 1, 2, 3, 4


def _with_overrides(params: SimulationParams | None, overrides: dict) -> SimulationParams:
    params = params or SimulationParams()
    if overrides:
        unknown = set(overrides) - {f.name for f in fields(SimulationParams)}
        if unknown:
            raise ConfigError(f"unknown simulation parameter(s) {sorted(unknown)}")
        params = SimulationParams(**{**{f.name: getattr(params, f.name) for f in fields(params)}, **overrides})
    return params


def calendar_basis(calendar: BusinessCalendar, params: SimulationParams, business_days: np.ndarray) -> dict:
    """What a simulated bank's days rest on, recorded beside its ground truth as a scan's
    manifest records it: ``calendar`` (its name), ``calendar_detail``
    (:meth:`~flowgraph.calendar.BusinessCalendar.describe`), ``calendar_note`` (the
    coverage note, or None) and ``estimated_business_days`` (ISO dates). With
    ``week="seven_day"`` the calendar is not consulted: no note, nothing estimated.

    Parameters
    ----------
    calendar : BusinessCalendar
    params : SimulationParams
    business_days : ndarray of datetime64[D]
        The days the bank's activity falls on.
    """
    if params.week == "seven_day" or not len(business_days):
        return {"calendar": calendar.name, "calendar_detail": calendar.describe(), "calendar_note": None,
                "estimated_business_days": []}
    first, last = business_days[0], business_days[-1]
    return {"calendar": calendar.name, "calendar_detail": calendar.describe(first, last),
            "calendar_note": calendar.coverage_note(first, last),
            "estimated_business_days": calendar.estimated_days(first, last).astype(str).tolist()}


def simulation_metadata(params: SimulationParams, basis: dict, n_patterns: int) -> dict:
    """What is written beside a simulation's ground truth (``OUT/simulation.json``,
    ``STORE/simulation/params.json``): the parameters, :func:`calendar_basis` and the number
    of planted patterns."""
    return {"params": asdict(params), **basis, "n_patterns": n_patterns}


def plan_bank(params: SimulationParams | None = None, calendar: BusinessCalendar | None = None,
              **overrides) -> BankPlan:
    """The population, planted patterns and run-long draws of a simulated bank, whose
    :meth:`BankPlan.days` then give its transactions day by day.

    Parameters
    ----------
    params : SimulationParams, optional
        Default ``SimulationParams()``; keyword ``overrides`` replace single fields.
    calendar : BusinessCalendar, optional
        Default: the PRC calendar.

    Returns
    -------
    BankPlan
    """
    params = _with_overrides(params, overrides)
    calendar = calendar or prc_calendar()
    if params.week == "seven_day":
        days = np.datetime64(params.start, "D") + np.arange(params.n_days)
    else:
        start = calendar.next_business_day(params.start)
        days = calendar.business_days(start, start + 2 * params.n_days + 40)[:params.n_days]
    rng_pop, rng_bg, rng_pat, rng_traf = (
        np.random.default_rng(np.random.SeedSequence(params.seed, spawn_key=(stream,)))
        for stream in (_POPULATION_STREAM, _BACKGROUND_STREAM, _PATTERN_STREAM, _TRAFFICKING_STREAM))

    pop = make_population(params.n_customers, rng_pop, mule_pool_share=params.recruit_pool_share)
    background = Background.draw(pop, days, rng_bg, params.activity_scale)

    rules = get_rule_set(params.rule_set)
    phi = _phi_by_rule(rules, params.currency)
    pool = pop.primary_account[pop.customers_of(MULE)]
    ctx = InjectionContext(rng=rng_pat, n_days=params.n_days, phi_transfer=phi["LV-PERSON"],
                           phi_cash=phi["LV-CASH"], take_accounts=(mules := _MuleSupply(rng_pat.permutation(pool))),
                           window_days=rules.short_term_days,
                           pass_through_tolerance=params.pass_through_tolerance, currency=params.currency)
    supply = LookalikeSupply(pop, rng_pat)
    trafficking_ctx = dataclasses.replace(ctx, rng=rng_traf)
    planted: list[Planted] = []
    try:
        for name, count in params.counts().items():
            injection = trafficking_ctx if name in TRAFFICKING_NAMES else ctx
            if name in TYPOLOGIES:
                n_adaptive = int(round(count * params.adaptive_share))
                for i in range(count):
                    planted.append(TYPOLOGIES[name](injection, ADAPTIVE if i < n_adaptive else NAIVE))
            else:
                planted.extend(LOOKALIKES[name](injection, supply) for _ in range(count))
    except _PoolExhausted as short:
        raise _pool_exhausted(params, mules, len(planted), sum(params.counts().values()), short.args[0]) from None
    pattern_events, which, pattern_context = _planted_events(planted, days, rng_pat)
    with_context = any(params.counts()[name] for name in TRAFFICKING_NAMES)
    last = max(days[-1], pattern_events.date.max()) if len(pattern_events) else days[-1]

    accounts = pop.accounts_table()
    # the recruiting pool is ground truth, not KYC: it reads as an ordinary person
    accounts["segment"] = accounts["segment"].replace({SEGMENTS[MULE]: "person"})
    if with_context:
        context = account_context(pop, days, planted, rng_traf)
        accounts["customer_id"] = context["customer_id"]
        accounts.insert(3, "opened_on", context["opened_on"])
        accounts.insert(4, "contact_id", context["contact_id"])
    pattern_ids = np.array([f"P{i:05d}" for i in range(len(planted))], dtype=object)
    patterns = _pattern_table(planted, pattern_ids, pop.account_ids, days, rules)
    return BankPlan(params, pop, np.arange(days[0], last + 1, dtype="datetime64[D]"), background,
                    pattern_events, which, pattern_context if with_context else None, pattern_ids, planted,
                    accounts, patterns, calendar_basis(calendar, params, days))


def simulate(params: SimulationParams | None = None, calendar: BusinessCalendar | None = None,
             **overrides) -> SimulatedBank:
    """Simulate a bank with planted laundering patterns and benign look-alikes.

    The bank is the days of :func:`plan_bank` put together: the same parameters give the
    same transactions here as streamed day by day into a store (:func:`simulate_into`).

    Parameters
    ----------
    params : SimulationParams, optional
        Default ``SimulationParams()``; keyword ``overrides`` replace single fields,
        e.g. ``simulate(n_customers=500, seed=3)``.
    calendar : BusinessCalendar, optional
        Default: the PRC calendar.

    Returns
    -------
    SimulatedBank
        ``transactions`` (canonical columns plus ``is_laundering``, ``pattern_id``,
        ``typology``), ``accounts`` and ``patterns`` (one row per planted pattern).
    """
    plan = plan_bank(params, calendar, **overrides)
    txns = pd.concat(list(plan.days()), ignore_index=True)
    return SimulatedBank(txns, plan.accounts, plan.patterns, plan.params, plan.calendar_basis)


def _phi_by_rule(rules, currency: str) -> dict[str, float]:
    """Each rule's threshold for amounts in ``currency`` (CNY or USD, :data:`CURRENCIES`): the
    home one in the rule set's home currency, else the foreign one (stated in USD)."""
    return {r.code: r.threshold_home if currency == rules.home_currency else r.threshold_foreign
            for r in rules.rules}


#: Look-alikes played by legal persons on both sides (Φ is LV-ENTITY's).
_ENTITY_PATTERNS = ("treasury_sweep", "supplier_chain")


def _pattern_table(planted, pattern_ids, account_ids, days, rules) -> pd.DataFrame:
    rows = []
    phi_of = {c: _phi_by_rule(rules, c) for c in CURRENCIES}
    for pid, p in zip(pattern_ids, planted):
        first, last = min(p.day), max(p.day)
        n_days = last - first + 1
        rule = "LV-CASH" if p.channel == "cash" else ("LV-ENTITY" if p.typology in _ENTITY_PATTERNS else "LV-PERSON")
        phi = phi_of[p.currency]
        ceiling = float(W(len(p.accounts), n_days)) * phi[rule]
        rows.append({
            "pattern_id": pid, "typology": p.typology, "behaviour": p.behaviour,
            "accounts": [account_ids[a] for a in p.accounts], "subject": account_ids[p.subject],
            "n_accounts": len(p.accounts), "first_day": days[first], "last_day": days[last],
            "n_days": n_days, "amount": round(p.moved, 2), "channel": p.channel, "phi": phi[rule],
            "ceiling": ceiling, "utilisation": p.moved / ceiling, "n_txns": len(p.src),
            "currency": p.currency, "subject_role": p.subject_role, "hops": p.hops,
            "layers": [[account_ids[a] for a in layer] for layer in p.layers],
        })
    frame = pd.DataFrame(rows, columns=list(PATTERN_COLUMNS))
    frame["first_day"] = pd.to_datetime(frame["first_day"])
    frame["last_day"] = pd.to_datetime(frame["last_day"])
    return frame


def write_simulation(bank: SimulatedBank, out_dir: str | Path) -> dict[str, Path]:
    """Write ``transactions.parquet``, ``accounts.parquet`` and ``patterns.parquet``
    (SPEC §10), and ``simulation.json`` (:func:`simulation_metadata`), each whole or not at all.

    Parameters
    ----------
    bank : SimulatedBank
    out_dir : path
        Created if needed.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in (("transactions", bank.transactions), ("accounts", bank.accounts),
                        ("patterns", bank.patterns)):
        paths[name] = write_parquet(table, out / f"{name}.parquet")
    metadata = simulation_metadata(bank.params, bank.calendar_basis, len(bank.patterns))
    paths["metadata"] = out / "simulation.json"
    write_atomically(paths["metadata"], lambda p: p.write_text(json.dumps(metadata, indent=2, default=str)))
    return paths
