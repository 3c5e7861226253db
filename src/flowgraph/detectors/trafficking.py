"""The human-trafficking typology pack: red flags of 000 that transaction data can show
(SPEC §9). Family ``trafficking`` in alerts.

Each detector counts (or sums) one account's events of a kind in a trailing window of
business days (:func:`flowgraph._kernels.trafficking.window_runs`) and reports each run of
qualifying days with the window's events as evidence:

- ``trafficking_small_cash`` — "repeated small cash withdrawals ... to avoid being asked for
  identification or reported": at least ``min_count`` cash payments out of the account, each
  just under the identification level (``[band_low · level, level)``, level from
  :data:`flowgraph.config.CASH_IDENTIFICATION_LEVELS`), within ``window_days``;
- ``trafficking_remittance`` — "frequent remittances to 'risk' countries": at least
  ``min_count`` payments out to a counterparty in a listed country
  (:data:`flowgraph.config.HIGH_RISK_COUNTRIES`) within ``window_days``; needs the
  ``counterparty_country`` column;
- ``trafficking_cash_deposits`` — "third-party cash deposited at different branches and
  ATMs": at least ``min_branches`` distinct branches or terminals among the cash deposits
  into the account within ``window_days``; needs the ``branch_id`` column. Who paid the cash
  in is not in the data, so "third-party" is read as many places rather than many people;
- ``trafficking_night_cash`` — "ATM and card use at times inconsistent with business
  hours": at least ``min_events`` cash movements of the account within ``window_days``,
  at least ``night_share`` of them between ``night_start_hour`` and ``night_end_hour``
  (bank-local time). Disabled when every timestamp is at midnight (dates without times);
- ``trafficking_no_livelihood`` — "deposits or withdrawals with no visible livelihood": a
  person's account whose cash turnover (cash in + cash out, integer cents) within
  ``window_days``, not counting its largest movement and each movement counted at most an
  equal share of it (:func:`movement_cap_cents`), is at least ``min_cash_turnover``, in
  at least ``min_cash_movements`` cash deposits and withdrawals (frequent cash), while no transfer from an account typed
  ``entity`` (a salary, a pension from a fund, a business's income) reached it in that
  window (:func:`flowgraph._kernels.trafficking.turnover_runs`). Disabled when no account
  is typed an entity. It cannot see incomes paid from accounts of unknown party type (an
  employer banking elsewhere), pensions or benefits paid by persons or in cash, or income
  held at another bank: those look like no livelihood.

"Many accounts and cards under aliases" and "shared contact details" read the accounts
table's optional ``opened_on`` and ``contact_id`` columns:
:mod:`flowgraph.detectors.trafficking_accounts` (``trafficking_many_accounts``,
``trafficking_shared_contact``). Cards are not in the data; a card is seen only as the
account it draws on.

Amounts are compared in integer cents (the level as the least whole cent at or above
``band_low`` · level). A detector whose column is absent returns no hits;
:func:`unavailable` says why, and the scan's manifest lists it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._kernels.segments import segment_sum
from .._kernels.trafficking import turnover_runs, window_runs
from ..config import CASH_IDENTIFICATION_LEVELS, CHANNELS, HIGH_RISK_COUNTRIES, get_rule_set
from ..errors import ConfigError
from ..money import PARTY_ENTITY, PARTY_PERSON
from ..hits import HitParts, HitTable, hit_table, params_fingerprint, ranges
from ._common import in_scan, memo, monitored, phi_table, prepare, share_cents, threshold_cents
from . import trafficking_accounts
from ._contract import Detector, Typology
from ._params import MAX_WINDOW_DAYS, Constraint, Interval, KnownRuleSet, relaxed_count, validate_params

CASH = CHANNELS.index("cash")
FAMILY = "trafficking"


class CountryCodes(Constraint):
    """A non-empty list of ISO 3166-1 alpha-2 codes (stored upper-case, as a tuple)."""

    description = "a non-empty list of two-letter ISO 3166 country codes such as ['KP', 'IR', 'MM']"

    def accepts(self, value) -> bool:
        return (isinstance(value, (list, tuple)) and len(value) > 0
                and all(isinstance(c, str) and len(c.strip()) == 2 and c.strip().isascii() and c.strip().isalpha()
                        for c in value))

    def normalise(self, value):
        return tuple(sorted({c.strip().upper() for c in value}))


# -- parameters ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SmallCashParams:
    """Parameters of ``trafficking_small_cash``.

    Parameters
    ----------
    rule_set : str
        Rule set of the scan (its LV-CASH threshold is the level for a currency
        :data:`~flowgraph.config.CASH_IDENTIFICATION_LEVELS` does not list).
    window_days : int
        Trailing window, business days (SPEC §1 short term: 10).
    min_count : int
        Least number of payments in the band within the window (5: repeated, more than
        the 3 of SPEC §1's "frequent").
    band_low : float
        The band starts at this share of the identification level, in (0, 1) (0.5).
    """

    rule_set: str = "PBOC-2016"
    window_days: int = 10
    min_count: int = 5
    band_low: float = 0.5

    _parameter_constraints: ClassVar[dict] = {
        "rule_set": KnownRuleSet(),
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_count": Interval(int, 2, 1000),
        "band_low": Interval(float, 0.0, 1.0, closed="neither"),
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> "SmallCashParams":
        """Fewer payments (lowered by ``band``, at least 2) and a band starting lower."""
        return dataclasses.replace(self, min_count=relaxed_count(self.min_count, band),
                                   band_low=max(self.band_low * (1 - band), 0.01))


@dataclass(frozen=True)
class RemittanceParams:
    """Parameters of ``trafficking_remittance``.

    Parameters
    ----------
    rule_set : str
    countries : list of str
        ISO 3166-1 alpha-2 codes of the "risk" countries (default
        :data:`flowgraph.config.HIGH_RISK_COUNTRIES`).
    window_days : int
        Trailing window, business days (10).
    min_count : int
        Least number of remittances to those countries within the window (SPEC §1
        "frequent": 3).
    """

    rule_set: str = "PBOC-2016"
    countries: tuple = HIGH_RISK_COUNTRIES
    window_days: int = 10
    min_count: int = 3

    _parameter_constraints: ClassVar[dict] = {
        "rule_set": KnownRuleSet(),
        "countries": CountryCodes(),
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_count": Interval(int, 1, 1000),
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> "RemittanceParams":
        """Fewer remittances (lowered by ``band``, at least 2)."""
        return dataclasses.replace(self, min_count=relaxed_count(self.min_count, band))


@dataclass(frozen=True)
class CashDepositParams:
    """Parameters of ``trafficking_cash_deposits``.

    Parameters
    ----------
    rule_set : str
    window_days : int
        Trailing window, business days (10).
    min_branches : int
        Least number of distinct branches or terminals among the cash deposits (5: a shop
        banking its takings uses its home branch and a few nearby ones).
    """

    rule_set: str = "PBOC-2016"
    window_days: int = 10
    min_branches: int = 5

    _parameter_constraints: ClassVar[dict] = {
        "rule_set": KnownRuleSet(),
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_branches": Interval(int, 2, 1000),
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> "CashDepositParams":
        """Fewer branches (lowered by ``band``, at least 2)."""
        return dataclasses.replace(self, min_branches=relaxed_count(self.min_branches, band))


@dataclass(frozen=True)
class NightCashParams:
    """Parameters of ``trafficking_night_cash``.

    Parameters
    ----------
    rule_set : str
    window_days : int
        Trailing window, business days (20: about a month).
    min_events : int
        Least number of cash movements in the window (6: more than a weekly withdrawal).
    night_share : float
        Least share of them at night, in (0, 1] (0.5).
    night_start_hour, night_end_hour : int
        The night, bank-local hours: from ``night_start_hour``:00 up to (not including)
        ``night_end_hour``:00 (0 and 5); a start after the end wraps round midnight.
    """

    rule_set: str = "PBOC-2016"
    window_days: int = 20
    min_events: int = 6
    night_share: float = 0.5
    night_start_hour: int = 0
    night_end_hour: int = 5

    _parameter_constraints: ClassVar[dict] = {
        "rule_set": KnownRuleSet(),
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_events": Interval(int, 1, 1000),
        "night_share": Interval(float, 0.0, 1.0, closed="right"),
        "night_start_hour": Interval(int, 0, 23),
        "night_end_hour": Interval(int, 0, 23),
    }

    def __post_init__(self) -> None:
        validate_params(self)
        if self.night_start_hour == self.night_end_hour:
            raise ConfigError(f"The 'night_end_hour' parameter of NightCashParams must differ from "
                              f"'night_start_hour' ({self.night_start_hour}): the night would be empty. "
                              f"Got {self.night_end_hour!r} instead.")

    def relaxed(self, band: float) -> "NightCashParams":
        """A lower night share (lowered by ``band``)."""
        return dataclasses.replace(self, night_share=max(self.night_share * (1 - band), 0.01))


# -- columns and availability ------------------------------------------------------------

def _column(graph, name: str):
    """The optional column ``name`` of the graph's table in edge order, or None when absent."""
    if name not in graph.transactions.columns:
        return None
    return memo(graph, ("context_column", name),
                lambda: graph.transactions[name].to_numpy(dtype=object, na_value=None)[graph.txn_pos])


def _without_times(graph) -> bool:
    """Whether every timestamp is at midnight (a table of dates: no time of day to read)."""
    def midnights() -> bool:
        day_ns = 86_400 * 10**9
        # data with times shows one in its first rows: the whole column (and a remainder of
        # its size) is read only when those are all at midnight
        return not np.any(graph.timestamp_ns[:4096] % day_ns) and not np.any(graph.timestamp_ns % day_ns)

    return memo(graph, ("without_times",),  # asked by each pass and by the manifest's notes
                lambda: graph.n_edges > 0 and midnights())


def unavailable(name: str, graph) -> str | None:
    """Why the trafficking detector ``name`` cannot run on ``graph`` (a note for the scan's
    manifest), or None when it can."""
    needs = {"trafficking_remittance": "counterparty_country", "trafficking_cash_deposits": "branch_id"}.get(name)
    if needs is not None and needs not in graph.transactions.columns:
        return (f"{name} disabled: the transactions have no '{needs}' column (optional; see "
                "flowgraph.schema). Add it to run this human-trafficking red flag (000).")
    if name == "trafficking_night_cash" and _without_times(graph):
        return (f"{name} disabled: every timestamp is at midnight, so the data has dates without "
                "times of day. Give times to run this human-trafficking red flag (000).")
    return None


# -- the shared path ---------------------------------------------------------------------

def _window_hits(graph, detector: str, params, days, window_days: int, events, min_events: int,
                 min_groups: int = 1, min_flagged_share: float = 0.0, measures=None, runs_of=None) -> HitTable:
    """Hits of one trafficking detector from its events.

    ``events(graph, rules)`` returns ``(account, edge, group, n_groups, flagged)`` arrays:
    each event's account (dense index), edge id, group and flag; the kernel counts exactly
    these events, and a hit's evidence is those of its account inside its run's windows.
    ``measures(runs)`` gives the detector's measures from the kernel's peak columns.
    ``runs_of(offsets, day, edge, flagged, last)``, when given, finds the runs instead of
    :func:`window_runs` (events sorted by account and time).
    """
    prepared = prepare(graph, params, days)
    if prepared is None or unavailable(detector, graph) is not None:
        return HitTable.empty()
    rules, first, last = prepared
    account, edge, group, n_groups, flagged = events(graph, rules)
    keep = (account >= 0) & (graph.day[edge] <= last)
    account, edge, group, flagged = account[keep], edge[keep], group[keep], flagged[keep]
    order = np.lexsort((edge, account))  # by account, then time (edge ids are in time order)
    account, edge, group, flagged = account[order], edge[order], group[order], flagged[order]
    day = graph.day[edge].astype(np.int64)
    offsets = np.searchsorted(account, np.arange(graph.n_accounts + 1)).astype(np.int64)
    if runs_of is None:
        runs = window_runs(offsets, day, group, flagged, n_groups, window_days, min_events, min_groups,
                           min_flagged_share, last, graph.period_last)
    else:
        runs = runs_of(offsets, day, edge, flagged, last)
    chosen = monitored(graph)[runs.account] & in_scan(runs.last_day, first)
    runs = type(runs)(*(column[chosen] for column in runs))
    if not len(runs.account):
        return HitTable.empty()
    key = account * graph.n_days + day
    window_first = np.maximum(runs.first_day - window_days + 1, 0)
    evidence_offsets, evidence = ranges(np.searchsorted(key, runs.account * graph.n_days + window_first, "left"),
                                        np.searchsorted(key, runs.account * graph.n_days + runs.last_day, "right"),
                                        edge)
    parts = HitParts(np.full(len(runs.account), detector, object), runs.account, runs.first_day, runs.last_day,
                     evidence_offsets, evidence, segment_sum(evidence_offsets, evidence, graph.amount_home_cents),
                     {"window_days": np.full(len(runs.account), window_days), **measures(runs)})
    return hit_table(graph, detector, params_fingerprint(params), phi_table(graph, rules), parts)


def cash_edges(graph) -> np.ndarray:
    """Ids of the graph's cash edges (in time order), found once per graph: three
    detectors look only at them, with each pass's own tests."""
    return memo(graph, ("cash_edges",), lambda: np.flatnonzero(graph.channel == CASH))


def _one_group(n: int) -> tuple[np.ndarray, int]:
    return np.zeros(n, np.int64), 1


# -- detectors -----------------------------------------------------------------------------

def identification_level_cents(graph, rules) -> tuple[int, int]:
    """The cash identification level in cents of the graph's home and foreign-threshold
    currencies (:data:`~flowgraph.config.CASH_IDENTIFICATION_LEVELS`, else the rule set's
    LV-CASH thresholds)."""
    cash = rules.rule("LV-CASH")
    home = CASH_IDENTIFICATION_LEVELS.get(graph.home_currency, cash.threshold_home)
    foreign = CASH_IDENTIFICATION_LEVELS.get(graph.foreign_currency, cash.threshold_foreign)
    return threshold_cents(home), threshold_cents(foreign)


def detect_small_cash(graph, params: SmallCashParams = SmallCashParams(), days=None) -> HitTable:
    """``trafficking_small_cash`` hits whose runs reach the scan range (module docstring).

    Parameters
    ----------
    graph : TransactionGraph
    params : SmallCashParams
    days : (first, last), optional
        Business-day indices or dates of the scan; default the whole graph.

    Returns
    -------
    HitTable
    """
    def events(graph, rules):
        home, foreign = identification_level_cents(graph, rules)
        cash = cash_edges(graph)
        is_home = graph.is_home_currency[cash]
        level = np.where(is_home, home, foreign)
        value = np.where(is_home, graph.amount_home_cents[cash], graph.amount_foreign_cents[cash])
        floor = np.where(is_home, share_cents(params.band_low, home), share_cents(params.band_low, foreign))
        edge = cash[(graph.src[cash] >= 0) & (value >= floor) & (value < level)]
        group, n_groups = _one_group(len(edge))
        return graph.src[edge].astype(np.int64), edge, group, n_groups, np.zeros(len(edge), np.int64)

    level_home = identification_level_cents(graph, get_rule_set(params.rule_set))[0] / 100
    return _window_hits(graph, "trafficking_small_cash", params, days, params.window_days, events, params.min_count,
                        measures=lambda runs: {"payments": runs.peak_events,
                                               "identification_level": np.full(len(runs.account), level_home),
                                               "band_low": np.full(len(runs.account), params.band_low)})


def detect_remittance(graph, params: RemittanceParams = RemittanceParams(), days=None) -> HitTable:
    """``trafficking_remittance`` hits whose runs reach the scan range (module docstring).

    Parameters
    ----------
    graph : TransactionGraph
    params : RemittanceParams
    days : (first, last), optional

    Returns
    -------
    HitTable
    """
    def events(graph, rules):
        country = _column(graph, "counterparty_country")
        listed = np.isin(country, np.array(params.countries, dtype=object))
        edge = np.flatnonzero(listed & (graph.src >= 0))
        codes = np.searchsorted(np.array(params.countries), country[edge].astype(str)).astype(np.int64)
        return graph.src[edge].astype(np.int64), edge, codes, len(params.countries), np.zeros(len(edge), np.int64)

    return _window_hits(graph, "trafficking_remittance", params, days, params.window_days, events, params.min_count,
                        measures=lambda runs: {"remittances": runs.peak_events, "countries": runs.peak_groups})


def detect_cash_deposits(graph, params: CashDepositParams = CashDepositParams(), days=None) -> HitTable:
    """``trafficking_cash_deposits`` hits whose runs reach the scan range (module docstring).

    Parameters
    ----------
    graph : TransactionGraph
    params : CashDepositParams
    days : (first, last), optional

    Returns
    -------
    HitTable
    """
    def events(graph, rules):
        branch = _column(graph, "branch_id")
        cash = cash_edges(graph)
        edge = cash[(graph.src[cash] < 0) & (graph.dst[cash] >= 0) & np.not_equal(branch[cash], None)]
        names, codes = np.unique(branch[edge].astype(str), return_inverse=True)
        return graph.dst[edge].astype(np.int64), edge, codes.astype(np.int64), len(names), \
            np.zeros(len(edge), np.int64)

    return _window_hits(graph, "trafficking_cash_deposits", params, days, params.window_days, events,
                        params.min_branches, min_groups=params.min_branches,
                        measures=lambda runs: {"deposits": runs.peak_events, "branches": runs.peak_groups})


def night_mask(timestamp_ns: np.ndarray, start_hour: int, end_hour: int) -> np.ndarray:
    """Whether each bank-local timestamp falls in the night ``[start_hour, end_hour)``
    (wrapping round midnight when the start is after the end)."""
    hour = (timestamp_ns // (3600 * 10**9)) % 24
    if start_hour < end_hour:
        return (hour >= start_hour) & (hour < end_hour)
    return (hour >= start_hour) | (hour < end_hour)


def detect_night_cash(graph, params: NightCashParams = NightCashParams(), days=None) -> HitTable:
    """``trafficking_night_cash`` hits whose runs reach the scan range (module docstring).

    Parameters
    ----------
    graph : TransactionGraph
    params : NightCashParams
    days : (first, last), optional

    Returns
    -------
    HitTable
    """
    def events(graph, rules):
        cash = cash_edges(graph)
        # a cash movement counts for the account on its side (a withdrawal or a deposit)
        account = np.where(graph.src[cash] >= 0, graph.src[cash], graph.dst[cash]).astype(np.int64)
        night = night_mask(graph.timestamp_ns[cash], params.night_start_hour, params.night_end_hour)
        group, n_groups = _one_group(len(cash))
        return account, cash, group, n_groups, night.astype(np.int64)

    return _window_hits(graph, "trafficking_night_cash", params, days, params.window_days, events,
                        params.min_events, min_flagged_share=params.night_share,
                        measures=lambda runs: {"cash_movements": runs.peak_events,
                                               "night_movements": runs.peak_flagged,
                                               "night_share": runs.peak_flagged / np.maximum(runs.peak_events, 1)})


@dataclass(frozen=True)
class LivelihoodParams:
    """Parameters of ``trafficking_no_livelihood``.

    Parameters
    ----------
    rule_set : str
    window_days : int
        Trailing window, business days (25: a month holds at most 23, so a monthly salary
        or pension always falls inside one).
    min_cash_turnover : float
        Least cash turnover (cash in + cash out, home currency) within the window, not
        counting its largest movement (the red flag is money that keeps moving: one
        payment, such as a landlord's cash rent just under the reporting level, does not
        make it), and each movement counted at most ``min_cash_turnover`` /
        (``min_cash_movements`` - 1) (:func:`movement_cap_cents`: neither do two or three
        lump sums, such as two months' rent in one window): 50,000 yuan. ILLUSTRATIVE, not a regulatory number: the amount of one large-value cash
        report (LV-CASH, PBOC-2016) moved in cash within a month by a person with no
        visible income is far more than a household without earnings spends, and well
        above what the simulator's ordinary persons move.
    min_cash_movements : int
        Least cash deposits and withdrawals within the window: 5, once a week on average
        over the 25 business days. The red flag is *frequent* cash (000:
        "经常存款或取款而没有明显的谋生来源"); ILLUSTRATIVE like the turnover: one large cash
        payment a month and a few small ones (a landlord's cash rent, the simulator's
        ``rent_under_round``) are not a pattern of living on cash. The tolerance band
        does not lower it.
    """

    rule_set: str = "PBOC-2016"
    window_days: int = 25
    min_cash_turnover: float = 50_000.0
    min_cash_movements: int = 5

    _parameter_constraints: ClassVar[dict] = {
        "rule_set": KnownRuleSet(),
        "window_days": Interval(int, 1, MAX_WINDOW_DAYS),
        "min_cash_turnover": Interval(float, 0.01, math.inf, closed="left"),  # at least a cent
        "min_cash_movements": Interval(int, 1, 10_000),
    }

    def __post_init__(self) -> None:
        validate_params(self)

    def relaxed(self, band: float) -> LivelihoodParams:
        """A lower turnover (lowered by ``band``, at least a cent)."""
        return dataclasses.replace(self, min_cash_turnover=max(self.min_cash_turnover * (1 - band), 0.01))


def movement_cap_cents(params: LivelihoodParams) -> int:
    """The most one cash movement counts toward ``trafficking_no_livelihood``'s turnover, in
    integer cents: an equal share of ``min_cash_turnover`` among the ``min_cash_movements``
    less one (the largest, not counted) that must make it, i.e. the turnover must come from
    frequent cash, not from two or three lump sums. No cap (the largest int64) when
    ``min_cash_movements`` is 1."""
    if params.min_cash_movements < 2:
        return int(np.iinfo(np.int64).max)
    return -(-threshold_cents(params.min_cash_turnover) // (params.min_cash_movements - 1))


def livelihood_unavailable(graph) -> str | None:
    """Why ``trafficking_no_livelihood`` cannot run: no account is typed an entity, so an
    income from an employer or a business cannot be told from any other transfer."""
    if graph.n_accounts and not np.any(graph.account_party == PARTY_ENTITY):
        return ("trafficking_no_livelihood disabled: no account is typed 'entity' (accounts table column "
                "'party_type'), so incomes from employers and businesses cannot be told. Give party types to "
                "run this human-trafficking red flag (000).")
    return None


def detect_no_livelihood(graph, params: LivelihoodParams = LivelihoodParams(), days=None) -> HitTable:
    """``trafficking_no_livelihood`` hits whose runs reach the scan range (module docstring).

    A person's account qualifies on a business day when its cash turnover within the
    trailing ``window_days`` (cash paid in plus cash taken out, integer cents, each movement
    counted at most :func:`movement_cap_cents`), not counting its largest movement, is at
    least ``min_cash_turnover``, in at least
    ``min_cash_movements`` movements, and no transfer from an account typed ``entity`` (a salary, a
    pension from a fund, a business's income) reached it in that window.

    What it cannot see: incomes paid from accounts whose party type is unknown (an
    employer banking elsewhere, whose account is in no accounts table) look like no
    income, as do a pension or benefit paid by a person or in cash; income held at
    another bank is invisible; and a person who receives one token transfer from an
    entity is cleared for the whole window.

    Parameters
    ----------
    graph : TransactionGraph
    params : LivelihoodParams
    days : (first, last), optional

    Returns
    -------
    HitTable
    """
    if livelihood_unavailable(graph) is not None:
        return HitTable.empty()

    def events(graph, rules):  # the same for both passes: found once per graph
        return memo(graph, ("livelihood_events",), lambda: _livelihood_events(graph), own=True)

    def runs_of(offsets, day, edge, veto, last):
        money = np.where(veto == 1, 0, np.minimum(graph.amount_home_cents[edge], movement_cap_cents(params)))
        return turnover_runs(offsets, day, money, veto, params.window_days,
                             threshold_cents(params.min_cash_turnover), params.min_cash_movements, last,
                             graph.period_last)

    return _window_hits(graph, "trafficking_no_livelihood", params, days, params.window_days, events, 1,
                        runs_of=runs_of,
                        measures=lambda runs: {"cash_turnover": runs.peak_cents / 100, "cash_movements": runs.peak_events,
                                               "min_cash_turnover": np.full(len(runs.account),
                                                                            params.min_cash_turnover)})


def _livelihood_events(graph) -> tuple:
    """``trafficking_no_livelihood``'s events (see :func:`_window_hits`): persons' cash
    movements (flag 0) and incomes from entities (flag 1, the veto)."""
    person = np.append(graph.account_party == PARTY_PERSON, False)  # index -1 (no account): not a person
    cash = cash_edges(graph)
    side = np.where(graph.src[cash] >= 0, graph.src[cash], graph.dst[cash]).astype(np.int64)
    cash_edge, cash_account = cash[person[side]], side[person[side]]
    income = (graph.channel != CASH) & (graph.src >= 0) & (graph.dst >= 0) \
        & (graph.account_party[graph.src] == PARTY_ENTITY)
    income_edge = np.flatnonzero(income & person[graph.dst])
    edge = np.concatenate([cash_edge, income_edge])
    account = np.concatenate([cash_account, graph.dst[income_edge].astype(np.int64)])
    veto = np.concatenate([np.zeros(len(cash_edge), np.int64), np.ones(len(income_edge), np.int64)])
    group, n_groups = _one_group(len(edge))
    return account, edge, group, n_groups, veto


def _detector(name: str, params: type, detect, weight: float, imitated_by: str, why_not=None,
              id_measures: tuple = (), counterparts: bool = True) -> Detector:
    """A registry entry whose one typology, named as the detector, finds the planted
    typology of the same name; ``why_not(graph)`` says why it cannot run (default
    :func:`unavailable`)."""
    return Detector(name, params, detect, (Typology(name, FAMILY, weight, finds=(name,), imitated_by=(imitated_by,),
                                                    id_measures=id_measures, counterparts=counterparts),),
                    unavailable=why_not or functools.partial(unavailable, name), first_day_selects_runs=True)


# Weights are not fitted (the model's training seeds plant no trafficking); they are set
# against the alert threshold (1.1 then; 1.05 after the recurrence refit of issue 13; 1.1 again
# since issue 14's refit, with recurrence looking back only; flowgraph.alerts.ModelConfig) from the held-out quality
# run (benchmarks/results/quality/trafficking.md, seeds 101-102): a red flag whose hits were
# all on planted patterns raises an alert on its own (weight = threshold); a noisier one
# needs a second indicator (half the threshold, rounded up: two of them reach it; the
# model's utilisation feature, a W(N, D) evasion signature, can also lift one over it).
DETECTORS = (
    # precision 1.00 (8 hits, 8 on planted patterns), 0 of 8 cash-allowance look-alikes hit
    _detector("trafficking_small_cash", SmallCashParams, detect_small_cash, 1.1, "cash_allowance"),
    # precision 1.00 (8 of 8), 0 of 8 migrant-remittance look-alikes hit
    _detector("trafficking_remittance", RemittanceParams, detect_remittance, 1.1, "migrant_remittance"),
    # precision 0.80 (8 of 10), 2 of 8 retail-branch look-alikes hit: not alone
    _detector("trafficking_cash_deposits", CashDepositParams, detect_cash_deposits, 0.55, "retail_branch_deposits"),
    # precision 0.67 (8 of 12), 3 of 8 night-shift look-alikes hit: not alone
    _detector("trafficking_night_cash", NightCashParams, detect_night_cash, 0.55, "night_shift_cash"),
    # precision 1.00 (8 of 8), 0 of 8 family look-alikes hit: alone. Its accounts are the
    # customer's own (not counterparties: the model's reach does not count them)
    _detector("trafficking_many_accounts", trafficking_accounts.ManyAccountsParams,
              trafficking_accounts.detect_many_accounts, 1.1, "family_accounts",
              functools.partial(trafficking_accounts.unavailable, "trafficking_many_accounts"), counterparts=False),
    # precision 1.00 (8 of 8), 0 of 8 family look-alikes hit: alone; accounts of the
    # customers sharing the contact key, not counterparties either
    _detector("trafficking_shared_contact", trafficking_accounts.SharedContactParams,
              trafficking_accounts.detect_shared_contact, 1.1, "family_accounts",
              functools.partial(trafficking_accounts.unavailable, "trafficking_shared_contact"),
              id_measures=("contact_id",), counterparts=False),
    # precision 0.84 (32 of 38, 8 of them its own planted patterns, the rest other cash
    # laundering; 6 on look-alikes of other kinds that move cash: cash allowances, rent),
    # 0 of 8 self-employed look-alikes hit: not alone (its hits' size feature, cash of
    # 6-16 % of Φ, lifts them over the threshold anyway)
    _detector("trafficking_no_livelihood", LivelihoodParams, detect_no_livelihood, 0.55, "self_employed_cash",
              livelihood_unavailable),
)
