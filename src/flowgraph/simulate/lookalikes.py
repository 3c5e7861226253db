"""Benign look-alikes: innocent activity shaped like a typology (hard negatives).

None of these transactions is laundering (``is_laundering`` = 0); they carry a pattern id
so that a benchmark can count how often a detector flags them.

- ``payroll_fan_out``: a company receives its month's funding from its parent and pays
  salaries and bonuses to 15-30 employees the next day (looks like concentrated-in,
  dispersed-out).
- ``merchant_fan_in``: a shop takes card payments from dozens of customers for a week
  and pays its supplier (looks like dispersed-in, concentrated-out).
- ``treasury_sweep``: a company's collection account receives client payments and
  sweeps the exact balance to the company's main account every evening, several days
  running (a pass-through with a 0 % gap, inside one customer).
- ``rent_under_round``: a tenant pays the same cash rent just under the cash threshold
  every month (near-threshold, low variance, but once a month: not "frequent").
"""

from __future__ import annotations

import numpy as np

from .population import COMPANY, MERCHANT, PERSON, Population
from .typologies import LOOKALIKE, InjectionContext, Planted


class LookalikeSupply:
    """Hands out ordinary customers' accounts for look-alikes, each used once."""

    def __init__(self, pop: Population, rng: np.random.Generator):
        self.pop = pop
        seg = pop.customer_segment
        self._queues = {s: list(rng.permutation(np.flatnonzero(seg == s))) for s in (PERSON, COMPANY, MERCHANT)}
        n_acc = np.bincount(pop.account_customer, minlength=pop.n_customers)
        self._multi = list(rng.permutation(np.flatnonzero((seg == COMPANY) & (n_acc >= 2))))

    def customers(self, segment: int, k: int) -> list[int]:
        queue = self._queues[segment]
        if len(queue) < k:
            raise ValueError(f"not enough ordinary customers for look-alikes (segment {segment}); "
                             "simulate more customers or fewer look-alikes")
        return [int(queue.pop()) for _ in range(k)]

    def primary(self, segment: int, k: int) -> list[int]:
        return [int(self.pop.primary_account[c]) for c in self.customers(segment, k)]

    def company_with_two_accounts(self) -> tuple[int, int]:
        if not self._multi:
            raise ValueError("no company with two accounts left for a treasury sweep; simulate more customers")
        c = int(self._multi.pop())
        if c in self._queues[COMPANY]:
            self._queues[COMPANY].remove(c)
        first = int(self.pop.primary_account[c])
        return first, first + 1


def payroll_fan_out(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    parent, company = supply.primary(COMPANY, 2)
    employees = supply.primary(PERSON, int(ctx.rng.integers(15, 31)))
    salaries = np.round(ctx.rng.lognormal(np.log(60_000), 0.35, len(employees)), 2)
    day = ctx.start_day(2)
    p = Planted("payroll_fan_out", LOOKALIKE, company, [parent, company, *employees])
    p.add(parent, company, day, 0, float(np.round(salaries.sum() * 1.02, -3)))
    for i, (e, s) in enumerate(zip(employees, salaries)):
        p.add(company, e, day + 1, i, s)
    p.moved = float(salaries.sum())
    return p


def merchant_fan_in(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    (shop,) = supply.primary(MERCHANT, 1)
    (supplier,) = supply.primary(COMPANY, 1)
    n_days = 5
    buyers = supply.primary(PERSON, int(ctx.rng.integers(20, 41)))
    start = ctx.start_day(n_days + 1)
    p = Planted("merchant_fan_in", LOOKALIKE, shop, [shop, supplier, *buyers])
    total = 0.0
    for i, b in enumerate(buyers):
        a = float(np.round(ctx.rng.lognormal(np.log(400), 0.8), 2))
        p.add(b, shop, start + i % n_days, i, a)
        total += a
    p.add(shop, supplier, start + n_days, 0, float(np.floor(total * 0.9)))
    p.moved = float(np.floor(total * 0.9))
    return p


def treasury_sweep(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    collection, main = supply.company_with_two_accounts()
    clients = supply.primary(COMPANY, int(ctx.rng.integers(3, 7)))
    n_days = int(ctx.rng.integers(3, 6))
    start = ctx.start_day(n_days)
    p = Planted("treasury_sweep", LOOKALIKE, collection, [collection, main, *clients])
    for d in range(start, start + n_days):
        payers = ctx.rng.choice(len(clients), int(ctx.rng.integers(1, len(clients) + 1)), replace=False)
        day_total = 0.0
        for slot, c in enumerate(payers):
            a = float(np.round(ctx.rng.lognormal(np.log(300_000), 0.6), 2))
            p.add(clients[c], collection, d, slot, a)
            day_total += a
        p.add(collection, main, d, len(payers), round(day_total, 2))  # the evening sweep
        p.moved += day_total
    return p


def rent_under_round(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    (landlord,) = supply.primary(PERSON, 1)
    rent = float(ctx.rng.choice([0.9, 0.95, 0.99, 0.996]) * ctx.phi_cash)
    p = Planted("rent_under_round", LOOKALIKE, landlord, [landlord], channel="cash")
    first = int(ctx.rng.integers(0, 5))
    for month, d in enumerate(range(first, ctx.n_days, 21)):  # about 21 business days a month
        p.add(-1, landlord, d, month, rent)
        p.moved += rent
    return p


#: Benign look-alikes by name.
LOOKALIKES = {
    "payroll_fan_out": payroll_fan_out,
    "merchant_fan_in": merchant_fan_in,
    "treasury_sweep": treasury_sweep,
    "rent_under_round": rent_under_round,
}
