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
- ``family_round_trip``: relatives pass money round a small circle (3-4 persons) with
  irregular amounts and gaps of one to three weeks, or a gift comes back weeks later
  (looks like a cycle, but slower than the short term and not conserved).
- ``supplier_chain``: A buys from B who buys from C (sometimes C from D): B pays its
  supplier on payment terms of two to four weeks, a margin below what it was paid,
  every month (looks like a forwarding chain; the gaps and margins tell it apart).
- ``settlement_layers``: a payment processor collects from 20-40 customers of 3-6
  merchants and settles each merchant's takings the next day minus its 0.6-2.5 % fee,
  2-4 days running (layered and high degree, like a bipartite flow).

The last three are sized around Φ of ``InjectionContext.currency`` so that they are as
material as the laundering they resemble.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

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
            kind = {PERSON: "person", COMPANY: "company", MERCHANT: "merchant"}[segment]
            raise ConfigError(f"not enough ordinary {kind} customers left for the look-alikes. Fix: simulate more "
                              "customers (--customers) or fewer look-alikes (--lookalikes).")
        return [int(queue.pop()) for _ in range(k)]

    def primary(self, segment: int, k: int) -> list[int]:
        return [int(self.pop.primary_account[c]) for c in self.customers(segment, k)]

    def company_with_two_accounts(self) -> tuple[int, int]:
        if not self._multi:
            raise ConfigError("no company with two accounts left for a treasury sweep look-alike. Fix: simulate more "
                              "customers (--customers) or fewer look-alikes (--lookalikes).")
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
    p = Planted("payroll_fan_out", LOOKALIKE, company, [parent, company, *employees], subject_role="hub",
                hops=2, layers=[[parent], [company], employees])
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
    p = Planted("merchant_fan_in", LOOKALIKE, shop, [shop, supplier, *buyers], subject_role="hub",
                hops=2, layers=[buyers, [shop], [supplier]])
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
    p = Planted("treasury_sweep", LOOKALIKE, collection, [collection, main, *clients], subject_role="hub",
                hops=2, layers=[clients, [collection], [main]])
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
    p = ctx.planted("rent_under_round", LOOKALIKE, landlord, [landlord], "account", [[landlord]], 1, channel="cash")
    first = int(ctx.rng.integers(0, 5))
    for month, d in enumerate(range(first, ctx.n_days, 21)):  # about 21 business days a month
        p.add(-1, landlord, d, month, rent)
        p.moved += rent
    return p


def _spaced_days(ctx: InjectionContext, n: int, low: int, high: int) -> np.ndarray:
    """Days of ``n`` events with gaps drawn from [low, high] days, squeezed to fit the
    simulated days (a short simulation shortens the gaps, never drops an event)."""
    gaps = ctx.rng.integers(low, high + 1, n - 1)
    room = ctx.n_days - 1
    if gaps.sum() > room:
        gaps = np.maximum(1, gaps * room // gaps.sum())
    days = np.concatenate([[0], np.cumsum(gaps)])
    return ctx.start_day(int(days[-1]) + 1) + days


def family_round_trip(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    if ctx.rng.random() < 0.5:  # a gift that comes back weeks later
        relatives = supply.primary(PERSON, 2)
        days = _spaced_days(ctx, 2, 15, 30)
    else:  # money handed round a small family circle
        relatives = supply.primary(PERSON, int(ctx.rng.integers(3, 5)))
        days = _spaced_days(ctx, len(relatives), 5, 15)
    n = len(relatives)
    p = ctx.planted("family_round_trip", LOOKALIKE, relatives[0], relatives, "cycle_start",
                    [[r] for r in relatives], n)
    a = _hundreds(ctx.rng.uniform(0.3, 0.9) * ctx.phi_transfer)
    for hop, d in enumerate(days):
        p.add(relatives[hop], relatives[(hop + 1) % n], d, 0, a)
        p.moved = a
        a = _hundreds(a * ctx.rng.uniform(0.4, 1.3))  # whatever the giver chose, not a fee
    return p


def supplier_chain(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    firms = supply.primary(COMPANY, int(ctx.rng.integers(3, 5)))
    n_hops = len(firms) - 1
    n_months = max(1, min(3, ctx.n_days // 21))
    p = ctx.planted("supplier_chain", LOOKALIKE, firms[1], firms, "first_intermediary",
                    [[f] for f in firms], n_hops)
    order = ctx.rng.uniform(0.8, 2.5) * ctx.phi_transfer
    for month in range(n_months):
        a = _hundreds(order * ctx.rng.uniform(0.8, 1.2))
        # each firm pays its supplier on terms of 2-4 weeks, what it bought at a margin
        days = _spaced_days(ctx, n_hops, 10, 19)
        days = days - days[0] + min(month * 21, ctx.n_days - 1 - (days[-1] - days[0]))
        for hop, d in enumerate(days):
            p.add(firms[hop], firms[hop + 1], d, hop, a)
            p.moved += a
            a = _hundreds(a * ctx.rng.uniform(0.6, 0.85))
    return p


def settlement_layers(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    (processor,) = supply.primary(COMPANY, 1)
    merchants = supply.primary(MERCHANT, int(ctx.rng.integers(3, 7)))
    customers = supply.primary(PERSON, int(ctx.rng.integers(20, 41)))
    n_days = int(ctx.rng.integers(2, 5))
    start = ctx.start_day(n_days + 1)
    p = ctx.planted("settlement_layers", LOOKALIKE, processor, [processor, *merchants, *customers], "hub",
                    [customers, [processor], merchants], 2)
    shop_of = ctx.rng.permutation(np.arange(len(customers)) % len(merchants))  # every shop has customers
    for d in range(start, start + n_days):
        takings = np.zeros(len(merchants))
        buyers = np.arange(len(customers)) if d == start else \
            ctx.rng.choice(len(customers), int(ctx.rng.integers(len(customers) // 2, len(customers) + 1)), replace=False)
        for slot, c in enumerate(buyers):
            a = round(float(ctx.rng.lognormal(np.log(0.03 * ctx.phi_transfer), 0.8)), 2)
            p.add(customers[c], processor, d, slot, a)
            takings[shop_of[c]] += a
        fee = ctx.rng.uniform(0.006, 0.025)
        for slot, (m, t) in enumerate(zip(merchants, takings)):
            if t > 0:  # next morning, before the day's collections
                settled = round(float(t * (1 - fee)), 2)
                p.add(processor, m, d + 1, slot - len(merchants), settled)
                p.moved += settled
    return p


def _hundreds(x: float) -> float:
    return float(np.round(x, -2))


#: Benign look-alikes by name.
LOOKALIKES = {
    "payroll_fan_out": payroll_fan_out,
    "merchant_fan_in": merchant_fan_in,
    "treasury_sweep": treasury_sweep,
    "rent_under_round": rent_under_round,
    "family_round_trip": family_round_trip,
    "supplier_chain": supplier_chain,
    "settlement_layers": settlement_layers,
}
