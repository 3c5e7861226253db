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

    FIELDS = ("src", "dst", "date", "second", "amount", "currency", "channel")

    @staticmethod
    def concat(parts: list["Events"]) -> "Events":
        return Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in Events.FIELDS))

    def __len__(self) -> int:
        return len(self.src)


def _lognormal(rng, median, sigma, n):
    return np.round(median * np.exp(sigma * rng.standard_normal(n)), 2).clip(min=0.01)


def _events(src, dst, date, second, amount, currency="CNY", channel="transfer") -> Events:
    n = len(src)
    full = lambda v: np.full(n, v, dtype=object) if np.isscalar(v) else np.asarray(v, dtype=object)
    return Events(np.asarray(src, np.int64), np.asarray(dst, np.int64), np.asarray(date, "datetime64[D]"),
                  np.asarray(second, np.int64), np.asarray(amount, np.float64), full(currency), full(channel))


def _poisson_pick(rng, who: np.ndarray, rate: float) -> np.ndarray:
    """The members of ``who`` acting in one slot of a Poisson process with ``rate`` per
    member and slot (a member may act more than once)."""
    n = rng.poisson(rate * len(who)) if len(who) else 0
    return who[rng.integers(0, len(who), n)]


@dataclass(frozen=True)
class Background:
    """Ordinary activity of a population, drawn one calendar day at a time.

    What is fixed for the whole run (each employer's pay day, each merchant's popularity,
    the calendar days salaries of each month land on) is drawn once at construction from
    ``rng``; :meth:`day` draws one day's events from that day's own generator, so a day's
    activity does not depend on which days were drawn before it (the simulator streams
    a bank day by day in bounded memory and gets the same bank as in one piece).

    Parameters
    ----------
    pop : Population
    business_days : ndarray of datetime64[D]
        The simulation's business days, in order.
    rng : numpy Generator
        For the run-long draws only.
    activity_scale : float
        Multiplies every rate (1.0 ≈ one transaction per person per business day).
    mule_cap_cny : float
        Largest amount of any ordinary transaction of a recruiting-pool person.
    """

    pop: Population
    business_days: np.ndarray
    pay_days: dict             # datetime64[D] -> employees (customer indices) paid that day
    merchant_cdf: np.ndarray   # cumulative popularity of merchants, for card payments
    pool_account: np.ndarray   # bool per account: held by a recruiting-pool person
    activity_scale: float
    mule_cap_cny: float

    @classmethod
    def draw(cls, pop: Population, business_days: np.ndarray, rng: np.random.Generator,
             activity_scale: float = 1.0, mule_cap_cny: float = 2_000.0) -> "Background":
        # salaries: each employee once a month, on the employer's pay day (first business day
        # on or after day 5, 10, 15 or 25 of the month)
        pay_dom = np.array([5, 10, 15, 25])[rng.integers(0, 4, pop.n_customers)]
        employed = np.flatnonzero(pop.employer >= 0)
        employee_dom = pay_dom[pop.employer[employed]]
        pay_days: dict = {}
        for month in np.unique(business_days.astype("datetime64[M]")):
            for dom in (5, 10, 15, 25):
                pos = np.searchsorted(business_days, month.astype("datetime64[D]") + dom - 1)
                if pos < len(business_days):
                    pay_days.setdefault(business_days[pos], []).append(employed[employee_dom == dom])
        merchants = pop.customers_of(MERCHANT)
        popularity = rng.pareto(1.0, len(merchants)) + 1
        return cls(pop, business_days, {d: np.concatenate(v) for d, v in pay_days.items()},
                   np.cumsum(popularity) / popularity.sum(), pop.customer_segment[pop.account_customer] == MULE,
                   activity_scale, mule_cap_cny)

    def day(self, date: np.datetime64, rng: np.random.Generator) -> Events:
        """The ordinary activity of calendar day ``date`` (card payments only when it is not
        a business day)."""
        pop = self.pop
        seg = pop.customer_segment
        acct = pop.primary_account
        persons = np.flatnonzero(seg == PERSON)
        everyday = np.flatnonzero(seg <= MULE)
        merchants = np.flatnonzero(seg == MERCHANT)
        companies = np.flatnonzero(seg == COMPANY)
        utilities = np.flatnonzero(seg == UTILITY)
        is_business = bool(np.isin(date, self.business_days))
        s = self.activity_scale
        parts: list[Events] = [_events([], [], [], [], [])]
        day_time = lambda n, lo=8, hi=20: rng.integers(lo * 3600, hi * 3600, n)
        on_day = lambda who: np.full(len(who), date)

        employees = self.pay_days.get(date, np.array([], np.int64))
        if len(employees):
            parts.append(_events(acct[pop.employer[employees]], acct[employees], on_day(employees),
                                 9 * 3600 + rng.integers(0, 1800, len(employees)),
                                 _lognormal(rng, 7_500, 0.5, len(employees))))

        # card payments, any calendar day (weekend ones roll to the next business day)
        if len(merchants):
            who = _poisson_pick(rng, everyday, 0.6 * s)
            to = merchants[np.minimum(np.searchsorted(self.merchant_cdf, rng.random(len(who))), len(merchants) - 1)]
            parts.append(_events(acct[who], acct[to], on_day(who), day_time(len(who), 8, 23),
                                 _lognormal(rng, 120, 1.0, len(who))))
        if is_business:
            parts.extend(self._business_day(rng, on_day, day_time, persons, everyday, merchants, companies,
                                            utilities))

        events = Events.concat(parts)
        # the recruiting pool's ordinary activity stays small (a known margin for the launderers)
        pool_accounts = self.pool_account[np.maximum(events.src, 0)] & (events.src >= 0)
        pool_accounts |= self.pool_account[np.maximum(events.dst, 0)] & (events.dst >= 0)
        events.amount = np.where(pool_accounts, np.minimum(events.amount, self.mule_cap_cny), events.amount)
        return events

    def _business_day(self, rng, on_day, day_time, persons, everyday, merchants, companies, utilities):
        acct = self.pop.primary_account
        s = self.activity_scale
        # utility bills, about monthly
        if len(utilities):
            who = _poisson_pick(rng, everyday, s / 21)
            yield _events(acct[who], acct[utilities[rng.integers(0, len(utilities), len(who))]], on_day(who),
                          day_time(len(who)), _lognormal(rng, 260, 0.6, len(who)))

        # person-to-person transfers
        who = _poisson_pick(rng, everyday, 0.05 * s)
        to = everyday[rng.integers(0, len(everyday), len(who))]
        yield _events(acct[who], acct[to], on_day(who), day_time(len(who)), _lognormal(rng, 900, 1.1, len(who)))

        # property and car purchases: rare, large (innocent LV-PERSON reports)
        if len(companies):
            who = _poisson_pick(rng, persons, 0.0004 * s)
            yield _events(acct[who], acct[companies[rng.integers(0, len(companies), len(who))]], on_day(who),
                          day_time(len(who)), np.round(rng.uniform(600_000, 2_500_000, len(who)), -2))

        # cash: persons deposit and withdraw; merchants deposit their takings (often >= 50,000)
        for rate, who_set, median, sigma in ((0.03, persons, 1_500, 1.0), (0.4, merchants, 20_000, 0.7)):
            who = _poisson_pick(rng, who_set, rate * s)
            yield _events(np.full(len(who), -1), acct[who], on_day(who), day_time(len(who), 9, 17),
                          _lognormal(rng, median, sigma, len(who)), channel="cash")
        who = _poisson_pick(rng, persons, 0.03 * s)
        yield _events(acct[who], np.full(len(who), -1), on_day(who), day_time(len(who), 9, 17),
                      _lognormal(rng, 1_200, 1.0, len(who)), channel="cash")

        # inter-company payments (some above 2,000,000: innocent LV-ENTITY reports)
        firms = np.concatenate([companies, merchants])
        who = _poisson_pick(rng, firms, 0.4 * s)
        to = firms[rng.integers(0, len(firms), len(who))]
        yield _events(acct[who], acct[to], on_day(who), day_time(len(who)), _lognormal(rng, 150_000, 1.2, len(who)))

        # cross-border: persons send USD abroad; companies receive USD/EUR from abroad
        who = _poisson_pick(rng, persons, 0.003 * s)
        foreign = EXTERNAL - rng.integers(0, 5_000, len(who))
        yield _events(acct[who], foreign, on_day(who), day_time(len(who)), _lognormal(rng, 2_000, 1.0, len(who)),
                      currency="USD", channel="cross_border")
        who = _poisson_pick(rng, companies, 0.05 * s)
        foreign = EXTERNAL - rng.integers(0, 5_000, len(who))
        yield _events(foreign, acct[who], on_day(who), day_time(len(who)), _lognormal(rng, 40_000, 1.0, len(who)),
                      currency=rng.choice(np.array(["USD", "EUR"], dtype=object), len(who)), channel="cross_border")
