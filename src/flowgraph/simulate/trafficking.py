"""Human-trafficking red flags (000, SPEC §9): injectors, benign look-alikes and the
optional context columns they need.

Planted only when asked (``SimulationParams.trafficking_per_typology`` or
``typology_mix``): a default bank has none of them and no context columns, so it is
unchanged. When any is planted, every transaction gets ``counterparty_country`` (the
foreign side's country for cross-border payments, else missing) and cash transactions a
``branch_id`` (each account mostly uses its home branch).

Injectors (``is_laundering`` = 1), each on a fresh recruiting-pool account:

- ``trafficking_small_cash``: 6-9 cash withdrawals of 55-95 % of the cash identification
  level within 10 business days (naive: up to three a day; adaptive: at most one a day);
- ``trafficking_remittance``: 4-6 remittances to a listed "risk" country within 10
  business days;
- ``trafficking_cash_deposits``: 6-10 cash deposits at 5-7 different branches within 10
  business days;
- ``trafficking_night_cash``: 7-10 cash withdrawals within 20 business days, most of them
  between midnight and 05:00.

- ``trafficking_many_accounts``: one customer opens 4-6 accounts within 10 business days
  (adaptive: 15), each used soon after for a small cash deposit;
- ``trafficking_shared_contact``: 5-7 customers open accounts with one contact key (the
  controller's phone) within 10 business days (adaptive: 15), each used soon after;
- ``trafficking_no_livelihood``: a person without income moves 60,000-90,000 yuan in cash
  (deposits and withdrawals) within 15 business days (adaptive: 20).

When any is planted, the accounts table gets ``opened_on`` (ordinary accounts: years
before the run) and ``contact_id`` (ordinary customers: a key of their own).

Look-alikes (``is_laundering`` = 0), on ordinary customers:

- ``cash_allowance``: a person takes out cash just under the level, twice a month;
- ``migrant_remittance``: a migrant worker sends money home to a listed country once a
  month;
- ``retail_branch_deposits``: a shop deposits its takings most days at two or three of its
  own nearby branches;
- ``night_shift_cash``: a night-shift worker takes out cash at night about once a week;
- ``family_accounts``: a household of 3-4 customers sharing one contact key opens accounts
  within 10 business days, the parent three of them;
- ``self_employed_cash``: a self-employed person turns over 60,000-90,000 yuan of cash a
  month and is paid by a business (an entity) every week.
"""

from __future__ import annotations

import numpy as np

from ..config import CASH_IDENTIFICATION_LEVELS, HIGH_RISK_COUNTRIES
from .background import EXTERNAL
from .lookalikes import LookalikeSupply
from .population import MERCHANT, PERSON, Population
from .typologies import ADAPTIVE, LOOKALIKE, InjectionContext, Planted

#: Branches of the simulated bank (ids BR000 ...).
N_BRANCHES = 40
#: Countries of ordinary cross-border counterparties (none of them listed).
ORDINARY_COUNTRIES = np.array(["US", "HK", "SG", "JP", "GB", "DE", "AU", "CA"], dtype=object)


def _level(ctx: InjectionContext) -> float:
    return CASH_IDENTIFICATION_LEVELS.get(ctx.currency, ctx.phi_cash)


def _branch(k) -> str:
    return f"BR{int(k):03d}"


def _time(ctx: InjectionContext, n: int, first_hour: int, last_hour: int) -> list[int]:
    """Seconds after midnight, uniformly between the two hours."""
    return ctx.rng.integers(first_hour * 3600, last_hour * 3600, n).tolist()


def _spread_days(ctx: InjectionContext, n: int, span: int, per_day: int) -> np.ndarray:
    """``n`` business days within ``span`` days from a random start, at most ``per_day`` a day
    (within the run: a span longer than the run is cut to it)."""
    span = min(span, ctx.n_days)
    slots = np.repeat(np.arange(span), per_day)
    days = np.sort(ctx.rng.choice(slots, size=min(n, len(slots)), replace=False))
    return ctx.start_day(span) + days


def _planted(ctx: InjectionContext, typology: str, behaviour: str, account: int, channel: str) -> Planted:
    p = ctx.planted(typology, behaviour, account, [account], "account", [[account]], 1, channel)
    p.context = {"second": [], "branch_id": [], "counterparty_country": []}
    return p


def _add(p: Planted, src: int, dst: int, day: int, amount: float, second: int, branch=None, country=None) -> None:
    p.add(src, dst, day, len(p.src), amount)
    p.context["second"].append(int(second))
    p.context["branch_id"].append(branch)
    p.context["counterparty_country"].append(country)
    p.moved += amount


def small_cash(ctx: InjectionContext, behaviour: str) -> Planted:
    account = ctx.take_accounts(1)[0]
    p = _planted(ctx, "trafficking_small_cash", behaviour, account, "cash")
    n = int(ctx.rng.integers(6, 10))
    days = _spread_days(ctx, n, 10, 1 if behaviour == ADAPTIVE else 3)
    amounts = np.floor(ctx.rng.uniform(0.55, 0.95, n) * _level(ctx))
    home = ctx.rng.integers(0, N_BRANCHES)
    for d, a, s in zip(days, amounts, _time(ctx, n, 9, 20)):
        _add(p, account, -1, d, float(a), s, _branch(home))
    return p


def remittance(ctx: InjectionContext, behaviour: str) -> Planted:
    account = ctx.take_accounts(1)[0]
    p = _planted(ctx, "trafficking_remittance", behaviour, account, "cross_border")
    n = int(ctx.rng.integers(4, 7))
    days = _spread_days(ctx, n, 10, 1 if behaviour == ADAPTIVE else 2)
    country = str(ctx.rng.choice(np.array(HIGH_RISK_COUNTRIES, dtype=object)))
    payee = EXTERNAL - int(ctx.rng.integers(5_000, 6_000))
    for d, s in zip(days, _time(ctx, n, 9, 17)):
        _add(p, account, payee, d, float(np.round(ctx.rng.uniform(3_000, 20_000), 2)), s, country=country)
    return p


def cash_deposits(ctx: InjectionContext, behaviour: str) -> Planted:
    account = ctx.take_accounts(1)[0]
    p = _planted(ctx, "trafficking_cash_deposits", behaviour, account, "cash")
    n = int(ctx.rng.integers(6, 11))
    days = _spread_days(ctx, n, 10, 2)
    branches = ctx.rng.choice(N_BRANCHES, int(ctx.rng.integers(5, 8)), replace=False)
    # every branch at least once, the rest at random
    where = np.concatenate([branches, ctx.rng.choice(branches, max(0, n - len(branches)))])[:n]
    for d, b, s in zip(days, where, _time(ctx, n, 8, 21)):
        _add(p, -1, account, d, float(np.round(ctx.rng.uniform(2_000, 0.6 * _level(ctx)), -2)), s, _branch(b))
    return p


def night_cash(ctx: InjectionContext, behaviour: str) -> Planted:
    account = ctx.take_accounts(1)[0]
    p = _planted(ctx, "trafficking_night_cash", behaviour, account, "cash")
    n = int(ctx.rng.integers(7, 11))
    days = _spread_days(ctx, n, 20, 1)
    at_night = ctx.rng.random(n) < (0.9 if behaviour == ADAPTIVE else 1.0)
    seconds = np.where(at_night, _time(ctx, n, 0, 5), _time(ctx, n, 18, 23))
    for d, s in zip(days, seconds):
        _add(p, account, -1, d, float(np.round(ctx.rng.uniform(500, 5_000), -2)), s, _branch(ctx.rng.integers(0, N_BRANCHES)))
    return p


def cash_allowance(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    account = supply.primary(PERSON, 1)[0]
    p = _planted(ctx, "cash_allowance", LOOKALIKE, account, "cash")
    for d in range(int(ctx.rng.integers(0, 5)), ctx.n_days, 10):
        _add(p, account, -1, d, float(np.floor(ctx.rng.uniform(0.6, 0.95) * _level(ctx))), _time(ctx, 1, 10, 16)[0],
             _branch(account % N_BRANCHES))
    return p


def migrant_remittance(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    account = supply.primary(PERSON, 1)[0]
    p = _planted(ctx, "migrant_remittance", LOOKALIKE, account, "cross_border")
    country = str(ctx.rng.choice(np.array(HIGH_RISK_COUNTRIES, dtype=object)))
    payee = EXTERNAL - int(ctx.rng.integers(6_000, 7_000))
    for d in range(int(ctx.rng.integers(0, min(20, ctx.n_days))), ctx.n_days, 21):  # at least once in any run
        _add(p, account, payee, d, float(np.round(ctx.rng.uniform(2_000, 5_000), -2)), _time(ctx, 1, 9, 17)[0],
             country=country)
    return p


def retail_branch_deposits(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    account = supply.primary(MERCHANT, 1)[0]
    p = _planted(ctx, "retail_branch_deposits", LOOKALIKE, account, "cash")
    own = ctx.rng.choice(N_BRANCHES, int(ctx.rng.integers(2, 4)), replace=False)
    start = ctx.start_day(15)
    for d in range(start, min(start + 15, ctx.n_days)):
        _add(p, -1, account, d, float(np.round(ctx.rng.lognormal(np.log(8_000), 0.5), -2)), _time(ctx, 1, 17, 20)[0],
             _branch(ctx.rng.choice(own)))
    return p


def night_shift_cash(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    account = supply.primary(PERSON, 1)[0]
    p = _planted(ctx, "night_shift_cash", LOOKALIKE, account, "cash")
    for d in range(int(ctx.rng.integers(0, 5)), ctx.n_days, 5):
        _add(p, account, -1, d, float(np.round(ctx.rng.uniform(300, 2_000), -2)), _time(ctx, 1, 1, 4)[0],
             _branch(account % N_BRANCHES))
    return p


def _opens(p: Planted, account: int, owner: int, day: int, contact: str | None) -> None:
    """Record that ``account`` is opened on business day ``day`` for the customer of
    ``owner``'s account, with the contact key ``contact`` (None: the customer's own)."""
    p.context.setdefault("opened", []).append((int(account), int(owner), int(day), contact))


def _open_and_use(ctx: InjectionContext, p: Planted, accounts: list[int], owners: list[int], span: int,
                  contact: str | None) -> None:
    """Open ``accounts`` on distinct business days within ``span`` (the first one first), each
    used for a small cash deposit 0-2 business days after it opens."""
    days = np.sort(_spread_days(ctx, len(accounts), span, 1))
    for a, owner, d in zip(accounts, owners, days):
        _opens(p, a, owner, d, contact)
        use = min(int(d + ctx.rng.integers(0, 3)), ctx.n_days - 1)
        _add(p, -1, a, use, float(np.round(ctx.rng.uniform(200, 2_000), -2)), _time(ctx, 1, 9, 17)[0],
             _branch(a % N_BRANCHES))


def many_accounts(ctx: InjectionContext, behaviour: str) -> Planted:
    accounts = ctx.take_accounts(int(ctx.rng.integers(4, 7)))
    p = _planted(ctx, "trafficking_many_accounts", behaviour, accounts[0], "cash")
    p.accounts = list(accounts)
    _open_and_use(ctx, p, accounts, [accounts[0]] * len(accounts), 15 if behaviour == ADAPTIVE else 10, None)
    return p


def shared_contact(ctx: InjectionContext, behaviour: str) -> Planted:
    accounts = ctx.take_accounts(int(ctx.rng.integers(5, 8)))
    p = _planted(ctx, "trafficking_shared_contact", behaviour, accounts[0], "cash")
    p.accounts = list(accounts)
    _open_and_use(ctx, p, accounts, accounts, 15 if behaviour == ADAPTIVE else 10, f"X{accounts[0]:09d}")
    return p


def no_livelihood(ctx: InjectionContext, behaviour: str) -> Planted:
    account = ctx.take_accounts(1)[0]
    p = _planted(ctx, "trafficking_no_livelihood", behaviour, account, "cash")
    target, moved = ctx.rng.uniform(60_000, 90_000), 0.0
    span = 20 if behaviour == ADAPTIVE else 15
    days = _spread_days(ctx, 2 * span, span, 2)
    for i, d in enumerate(days):
        if moved >= target:
            break
        amount = float(np.round(ctx.rng.uniform(3_000, 8_000), -2))
        deposit = i % 2 == 0
        _add(p, -1 if deposit else account, account if deposit else -1, d, amount, _time(ctx, 1, 9, 20)[0],
             _branch(account % N_BRANCHES))
        moved += amount
    return p


def family_accounts(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    members = supply.primary(PERSON, int(ctx.rng.integers(3, 5)))
    extra = supply.primary(PERSON, 2)  # two more accounts, held by the parent
    p = _planted(ctx, "family_accounts", LOOKALIKE, members[0], "cash")
    p.accounts = list(members) + list(extra)
    _open_and_use(ctx, p, members[:1] + extra + members[1:], [members[0]] * 3 + members[1:], 10,
                  f"H{members[0]:09d}")
    return p


def self_employed_cash(ctx: InjectionContext, supply: LookalikeSupply) -> Planted:
    account = supply.primary(PERSON, 1)[0]
    payer = supply.primary(MERCHANT, 1)[0]
    p = _planted(ctx, "self_employed_cash", LOOKALIKE, account, "cash")
    p.accounts = [account, payer]
    for d in range(int(ctx.rng.integers(0, 3)), ctx.n_days):
        deposit = d % 2 == 0
        _add(p, -1 if deposit else account, account if deposit else -1, d,
             float(np.round(ctx.rng.uniform(2_500, 5_000), -2)), _time(ctx, 1, 10, 19)[0], _branch(account % N_BRANCHES))
        if d % 5 == 0:  # paid by the business each week
            _add(p, payer, account, d, float(np.round(ctx.rng.uniform(3_000, 6_000), -2)), _time(ctx, 1, 9, 11)[0])
    p.context["channel"] = ["transfer" if s >= 0 and d >= 0 else "cash" for s, d in zip(p.src, p.dst)]
    return p


def account_context(pop: Population, days: np.ndarray, planted: list[Planted], rng: np.random.Generator) -> dict:
    """``customer_id``, ``opened_on`` and ``contact_id`` of every account: ordinary accounts
    opened 1-15 years before the run, each customer with a key of its own; the planted
    openings (:func:`_opens`) on their days, customers and keys."""
    customer = pop.customer_ids[pop.account_customer].copy()
    opened = days[0] - rng.integers(365, 15 * 365, len(customer)).astype("timedelta64[D]")
    contact = np.array([f"K{c:09d}" for c in pop.account_customer], dtype=object)
    for p in planted:
        for account, owner, day, key in (p.context or {}).get("opened", []):
            customer[account] = customer[owner]
            contact[account] = key if key is not None else contact[owner]
            opened[account] = days[min(day, len(days) - 1)]
    return {"customer_id": customer, "opened_on": opened, "contact_id": contact}


TRAFFICKING_TYPOLOGIES = {
    "trafficking_small_cash": small_cash,
    "trafficking_remittance": remittance,
    "trafficking_cash_deposits": cash_deposits,
    "trafficking_night_cash": night_cash,
    "trafficking_many_accounts": many_accounts,
    "trafficking_shared_contact": shared_contact,
    "trafficking_no_livelihood": no_livelihood,
}
TRAFFICKING_LOOKALIKES = {
    "cash_allowance": cash_allowance,
    "migrant_remittance": migrant_remittance,
    "retail_branch_deposits": retail_branch_deposits,
    "night_shift_cash": night_shift_cash,
    "family_accounts": family_accounts,
    "self_employed_cash": self_employed_cash,
}
TRAFFICKING_NAMES = tuple(TRAFFICKING_TYPOLOGIES) + tuple(TRAFFICKING_LOOKALIKES)


def background_context(events, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``counterparty_country`` and ``branch_id`` of ordinary activity (``events``, one day's
    background, :class:`.background.Events`), drawn from ``rng``: an ordinary country for
    a payment to or from abroad, and for cash the account's home branch, now and then
    another one. None where a column does not apply."""
    src, dst, channel = events.src, events.dst, events.channel
    abroad = (channel == "cross_border") & ((src <= EXTERNAL) | (dst <= EXTERNAL))
    country = np.full(len(src), None, dtype=object)
    country[abroad] = ORDINARY_COUNTRIES[rng.integers(0, len(ORDINARY_COUNTRIES), int(abroad.sum()))]
    cash = channel == "cash"
    own = np.where(src >= 0, src, dst)
    branch_no = np.where(rng.random(len(src)) < 0.9, own % N_BRANCHES, rng.integers(0, N_BRANCHES, len(src)))
    branch = np.full(len(src), None, dtype=object)
    branch[cash] = [_branch(b) for b in branch_no[cash]]
    return {"counterparty_country": country, "branch_id": branch}
