"""Ordinary activity of the synthetic bank, vectorised (no Python loop per transaction).

Each activity is a Poisson process per customer and day with its own amount distribution
(log-normal, median and spread per segment):

==================  =============================  ======================  ==============
activity            who -> whom                    when                    median amount
==================  =============================  ======================  ==============
salary              employer -> employee           monthly pay day         7,500 CNY
card payment        person -> merchant             any calendar day        120 CNY
utility bill        person -> utility              monthly                 260 CNY
person transfer     person -> person               business days           900 CNY
property purchase   person -> company              rare                    0.6-2.5 M CNY
cash                person / merchant <-> cash     business days           1,500 / 20,000
inter-company       company -> company/merchant    business days           150,000 CNY
cross-border        person -> abroad, abroad ->    business days           2,000 USD /
                    company                                                40,000 USD
==================  =============================  ======================  ==============

The tails are real: merchants' cash takings, inter-company payments, property purchases
and cross-border payments cross the large-value thresholds of SPEC §2 for innocent
customers, as in a real bank. Persons in the launderers' recruiting pool (``MULE``) get
only card and bill payments and small person transfers, capped by ``mule_cap_cny``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .population import COMPANY, MERCHANT, MULE, PERSON, UTILITY, Population

EXTERNAL = -2  # external (foreign) accounts are coded -2 - k


@dataclass
class Events:
    """Transactions as parallel arrays; accounts are dense indices, -1 for a cash side,
    ``EXTERNAL - k`` for the k-th foreign account."""

    src: np.ndarray
    dst: np.ndarray
    date: np.ndarray        # datetime64[D]
    second: np.ndarray      # int64 seconds after midnight
    amount: np.ndarray      # float64 in `currency`
    currency: np.ndarray    # object
    channel: np.ndarray     # object

    @staticmethod
    def concat(parts: list["Events"]) -> "Events":
        return Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                        ("src", "dst", "date", "second", "amount", "currency", "channel")))

    def __len__(self) -> int:
        return len(self.src)


def _lognormal(rng, median, sigma, n):
    return np.round(median * np.exp(sigma * rng.standard_normal(n)), 2).clip(min=0.01)


def _events(src, dst, date, second, amount, currency="CNY", channel="transfer") -> Events:
    n = len(src)
    full = lambda v: np.full(n, v, dtype=object) if np.isscalar(v) else np.asarray(v, dtype=object)
    return Events(np.asarray(src, np.int64), np.asarray(dst, np.int64), np.asarray(date, "datetime64[D]"),
                  np.asarray(second, np.int64), np.asarray(amount, np.float64), full(currency), full(channel))


def _poisson_pick(rng, who: np.ndarray, rate: float, n_slots: int):
    """Events of a Poisson process with ``rate`` per member of ``who`` per slot: returns
    (member, slot) arrays."""
    n = rng.poisson(rate * len(who) * n_slots) if len(who) else 0
    return who[rng.integers(0, len(who), n)], rng.integers(0, n_slots, n)


def background_activity(pop: Population, business_days: np.ndarray, rng: np.random.Generator,
                        activity_scale: float = 1.0, mule_cap_cny: float = 2_000.0) -> Events:
    """Months of ordinary activity over ``business_days`` (and the calendar days between).

    Parameters
    ----------
    pop : Population
    business_days : ndarray of datetime64[D]
        The simulation's business days, in order.
    rng : numpy Generator
    activity_scale : float
        Multiplies every rate (1.0 ≈ one transaction per person per business day).
    mule_cap_cny : float
        Largest amount of any ordinary transaction of a recruiting-pool person.
    """
    seg = pop.customer_segment
    acct = pop.primary_account
    persons = np.flatnonzero(seg == PERSON)
    pool = np.flatnonzero(seg == MULE)
    everyday = np.flatnonzero(seg <= MULE)
    merchants = np.flatnonzero(seg == MERCHANT)
    companies = np.flatnonzero(seg == COMPANY)
    utilities = np.flatnonzero(seg == UTILITY)
    n_bdays = len(business_days)
    calendar = np.arange(business_days[0], business_days[-1] + 1, dtype="datetime64[D]")
    s = activity_scale
    parts: list[Events] = []
    day_time = lambda n, lo=8, hi=20: rng.integers(lo * 3600, hi * 3600, n)

    # salaries: each employee once a month, on the employer's pay day (first business day on
    # or after day 5, 10, 15 or 25 of the month)
    months = np.unique(business_days.astype("datetime64[M]"))
    employed = np.flatnonzero(pop.employer >= 0)
    pay_dom = np.array([5, 10, 15, 25])[rng.integers(0, 4, pop.n_customers)]
    if len(employed):
        emp_rep = np.repeat(employed, len(months))
        month_rep = np.tile(months, len(employed))
        target = month_rep.astype("datetime64[D]") + pay_dom[pop.employer[emp_rep]] - 1
        pos = np.searchsorted(business_days, target)
        ok = pos < n_bdays
        emp_rep, pos = emp_rep[ok], pos[ok]
        parts.append(_events(acct[pop.employer[emp_rep]], acct[emp_rep], business_days[pos],
                             9 * 3600 + rng.integers(0, 1800, len(pos)),
                             _lognormal(rng, 7_500, 0.5, len(pos))))

    # card payments, any calendar day (weekend ones roll to the next business day)
    if len(merchants):
        popularity = rng.pareto(1.0, len(merchants)) + 1
        who, day = _poisson_pick(rng, everyday, 0.6 * s, len(calendar))
        to = merchants[rng.choice(len(merchants), len(who), p=popularity / popularity.sum())]
        parts.append(_events(acct[who], acct[to], calendar[day], day_time(len(who), 8, 23),
                             _lognormal(rng, 120, 1.0, len(who))))

    # utility bills, about monthly
    if len(utilities):
        who, day = _poisson_pick(rng, everyday, s / 21, n_bdays)
        parts.append(_events(acct[who], acct[utilities[rng.integers(0, len(utilities), len(who))]],
                             business_days[day], day_time(len(who)), _lognormal(rng, 260, 0.6, len(who))))

    # person-to-person transfers
    who, day = _poisson_pick(rng, everyday, 0.05 * s, n_bdays)
    to = everyday[rng.integers(0, len(everyday), len(who))]
    parts.append(_events(acct[who], acct[to], business_days[day], day_time(len(who)),
                         _lognormal(rng, 900, 1.1, len(who))))

    # property and car purchases: rare, large (innocent LV-PERSON reports)
    if len(companies):
        who, day = _poisson_pick(rng, persons, 0.0004 * s, n_bdays)
        parts.append(_events(acct[who], acct[companies[rng.integers(0, len(companies), len(who))]],
                             business_days[day], day_time(len(who)),
                             np.round(rng.uniform(600_000, 2_500_000, len(who)), -2)))

    # cash: persons deposit and withdraw; merchants deposit their takings (often >= 50,000)
    for rate, who_set, median, sigma in ((0.03, persons, 1_500, 1.0), (0.4, merchants, 20_000, 0.7)):
        who, day = _poisson_pick(rng, who_set, rate * s, n_bdays)
        parts.append(_events(np.full(len(who), -1), acct[who], business_days[day], day_time(len(who), 9, 17),
                             _lognormal(rng, median, sigma, len(who)), channel="cash"))
    who, day = _poisson_pick(rng, persons, 0.03 * s, n_bdays)
    parts.append(_events(acct[who], np.full(len(who), -1), business_days[day], day_time(len(who), 9, 17),
                         _lognormal(rng, 1_200, 1.0, len(who)), channel="cash"))

    # inter-company payments (some above 2,000,000: innocent LV-ENTITY reports)
    firms = np.concatenate([companies, merchants])
    who, day = _poisson_pick(rng, firms, 0.4 * s, n_bdays)
    to = firms[rng.integers(0, len(firms), len(who))]
    parts.append(_events(acct[who], acct[to], business_days[day], day_time(len(who)),
                         _lognormal(rng, 150_000, 1.2, len(who))))

    # cross-border: persons send USD abroad; companies receive USD/EUR from abroad
    who, day = _poisson_pick(rng, persons, 0.003 * s, n_bdays)
    foreign = EXTERNAL - rng.integers(0, 5_000, len(who))
    parts.append(_events(acct[who], foreign, business_days[day], day_time(len(who)),
                         _lognormal(rng, 2_000, 1.0, len(who)), currency="USD", channel="cross_border"))
    who, day = _poisson_pick(rng, companies, 0.05 * s, n_bdays)
    foreign = EXTERNAL - rng.integers(0, 5_000, len(who))
    parts.append(_events(foreign, acct[who], business_days[day], day_time(len(who)),
                         _lognormal(rng, 40_000, 1.0, len(who)),
                         currency=rng.choice(np.array(["USD", "EUR"], dtype=object), len(who)),
                         channel="cross_border"))

    events = Events.concat(parts)
    # the recruiting pool's ordinary activity stays small (a known margin for the launderers)
    pool_accounts = np.isin(pop.account_customer[np.maximum(events.src, 0)], pool) & (events.src >= 0)
    pool_accounts |= np.isin(pop.account_customer[np.maximum(events.dst, 0)], pool) & (events.dst >= 0)
    events.amount = np.where(pool_accounts, np.minimum(events.amount, mule_cap_cny), events.amount)
    return events
