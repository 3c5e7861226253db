"""Typology injectors: each plants one laundering pattern and says what it planted.

Two behaviours (001's game between launderers and monitors):

- **naive**: moves the money fast and crosses thresholds: some transactions at or above
  Φ, several a day, consecutive days;
- **adaptive**: keeps every rule of SPEC §2 and the "frequent" rule: every transaction and
  every daily cumulative sum per account and direction under Φ (at most
  ``daily_fraction`` · Φ, leaving a margin for the account's ordinary activity), large
  transactions (≥ 0.8 Φ) never on three consecutive business days nor three times a day,
  all within the short term (10 business days), and the pattern's amount A at or under
  W(N, D) · Φ. It pushes each transaction toward Φ (0.85-0.94 Φ), i.e. it uses its
  capacity to the full. For star-shaped patterns the binding limit is the hub's daily
  cumulative rule, so A stays well below W(N, D) · Φ, which bounds the whole group.

Multi-hop typologies (AMLworld's CYCLE, SCATTER-GATHER, GATHER-SCATTER, BIPARTITE,
STACK and RANDOM; IBM AMLSim's shapes) move money through intermediaries that are
degree 1 in the pattern (one payer, one payee) and keep a fee or skim at each hop: an
intermediary forwards ``forward_share`` (90-99 %) of what it received: it keeps at most
10 %, AMLSim's default. Each hop comes after the one that fed it (a later
day, or a later slot of the same day). For these the adaptive launderer's first hop sits
just under Φ and later hops shrink by the fees.

Accounts come from the recruiting pool (see :mod:`.population`), fresh for each pattern.
Amounts are in ``InjectionContext.currency``, around that currency's thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NAIVE, ADAPTIVE, LOOKALIKE = "naive", "adaptive", "lookalike"

#: Adaptive active-day offsets: two days on, one off, never three consecutive days; seven
#: active days fit in the 10-business-day short term.
ADAPTIVE_DAY_OFFSETS = np.array([0, 1, 3, 4, 6, 7, 9])


@dataclass
class Planted:
    """One planted pattern: its transactions (parallel lists) and what a detector should
    find. Accounts are dense indices; -1 is the cash side.

    ``subject_role`` says which account ``subject`` is (``"hub"``, ``"cycle_start"``,
    ``"sink"``, ``"first_intermediary"``, ``"account"``); ``layers`` lists the accounts
    in the order money reaches them (a cycle: its accounts from the start, the last paying
    the first; a layered flow: sources, middle layer(s), sinks); ``hops`` is the number of
    transfers on the longest path of the money from a first to a last layer.
    """

    typology: str
    behaviour: str
    subject: int
    accounts: list[int]
    channel: str = "transfer"
    currency: str = "CNY"
    subject_role: str = "account"
    hops: int = 1
    layers: list[list[int]] = field(default_factory=list)
    src: list[int] = field(default_factory=list)
    dst: list[int] = field(default_factory=list)
    day: list[int] = field(default_factory=list)      # business-day index
    slot: list[int] = field(default_factory=list)     # order within the day
    amount: list[float] = field(default_factory=list)  # CNY
    moved: float = 0.0                                # A of SPEC §4 for this typology
    # per transaction: "second" (time of day), "branch_id", "counterparty_country" lists,
    # for the patterns that set them (:mod:`.trafficking`); None: the defaults
    context: dict | None = None

    def add(self, src: int, dst: int, day: int, slot: int, amount: float) -> None:
        self.src.append(src)
        self.dst.append(dst)
        self.day.append(int(day))
        self.slot.append(slot)
        self.amount.append(float(amount))


@dataclass
class InjectionContext:
    """What an injector needs: randomness, the simulation's days, the thresholds and a
    supply of fresh accounts."""

    rng: np.random.Generator
    n_days: int
    phi_transfer: float          # Φ of person transfers (LV-PERSON), CNY
    phi_cash: float              # Φ of cash (LV-CASH), CNY
    take_accounts: callable      # take_accounts(k) -> k fresh recruiting-pool accounts
    window_days: int = 10        # short term (SPEC §1)
    daily_fraction: float = 0.94  # adaptive cap per account, direction and day, × Φ
    band_low: float = 0.85       # adaptive transactions start at this × Φ
    pass_through_tolerance: float = 0.02  # adaptive fee per hop, at most this share
    currency: str = "CNY"        # of the planted amounts and of both Φ above
    # multi-hop intermediaries pass on this share: they keep at most 10 %, AMLSim's default
    # (PEERS.md)
    forward_share: tuple[float, float] = (0.90, 0.99)

    def planted(self, typology: str, behaviour: str, subject: int, accounts, subject_role: str,
                layers: list[list[int]], hops: int, channel: str = "transfer") -> Planted:
        return Planted(typology, behaviour, subject, list(accounts), channel, self.currency,
                       subject_role, hops, [list(layer) for layer in layers])

    def forward(self, amount: float) -> float:
        """What a multi-hop intermediary passes on of ``amount`` (the rest is its fee)."""
        return _cents(amount * self.rng.uniform(*self.forward_share))

    def start_day(self, span: int) -> int:
        return int(self.rng.integers(0, max(1, self.n_days - span)))

    def days(self, n: int, behaviour: str) -> np.ndarray:
        """Business days of ``n`` successive steps of a pattern."""
        if behaviour == ADAPTIVE:
            if n > len(ADAPTIVE_DAY_OFFSETS):
                raise ValueError(f"an adaptive pattern has at most {len(ADAPTIVE_DAY_OFFSETS)} active days, asked {n}")
            offsets = ADAPTIVE_DAY_OFFSETS[:n]
        else:  # naive: crowded into few consecutive days
            offsets = np.sort(self.rng.integers(0, max(1, (n + 1) // 2), n))
        return self.start_day(int(offsets[-1]) + 1) + offsets

    def amount(self, behaviour: str, phi: float, n: int = 1) -> np.ndarray:
        """Transaction amounts: adaptive just under Φ, naive at or above Φ for at least
        the first one."""
        if behaviour == ADAPTIVE:
            a = self.rng.uniform(self.band_low, self.daily_fraction, n) * phi
            return np.minimum(np.floor(a * 100) / 100, self.daily_fraction * phi)
        a = self.rng.uniform(0.9, 1.8, n) * phi
        a[0] = max(a[0], phi)
        return np.ceil(a)

    def fee(self, behaviour: str) -> float:
        return float(self.rng.uniform(0, self.pass_through_tolerance if behaviour == ADAPTIVE else 0.1))


def _cents(x: float) -> float:
    return float(np.floor(x * 100) / 100)


def _hub_pattern(ctx: InjectionContext, behaviour: str, typology: str, n_in: int, n_out: int) -> Planted:
    """A hub with ``n_in`` senders and ``n_out`` receivers: one inflow per step, passed
    straight on (minus a small fee) to a receiver. The side with fewer accounts takes
    turns, so every sender and receiver appears."""
    accounts = ctx.take_accounts(1 + n_in + n_out)
    hub, senders, receivers = accounts[0], accounts[1:1 + n_in], accounts[1 + n_in:]
    steps = max(n_in, n_out)
    p = ctx.planted(typology, behaviour, hub, accounts, "hub",
                    [senders, [hub], receivers] if n_out else [senders, [hub]], 2 if n_out else 1)
    days = ctx.days(steps, behaviour)
    amounts = ctx.amount(behaviour, ctx.phi_transfer, steps)
    for i, (d, a) in enumerate(zip(days, amounts)):
        p.add(senders[i % n_in], hub, d, 2 * i, a)
        if n_out:
            out = _cents(a * (1 - ctx.fee(behaviour)))
            p.add(hub, receivers[i % n_out], d, 2 * i + 1, out)
            p.moved += out
        else:
            p.moved += a
    return p


def dispersed_in_concentrated_out(ctx: InjectionContext, behaviour: str) -> Planted:
    """分散转入集中转出: 5-7 senders into a hub, passed on to 1-2 receivers (SPEC §3.1)."""
    return _hub_pattern(ctx, behaviour, "dispersed_in_concentrated_out",
                        int(ctx.rng.integers(5, 8)), int(ctx.rng.integers(1, 3)))


def concentrated_in_dispersed_out(ctx: InjectionContext, behaviour: str) -> Planted:
    """集中转入分散转出: 1-2 senders into a hub, passed on to 5-7 receivers (SPEC §3.1)."""
    return _hub_pattern(ctx, behaviour, "concentrated_in_dispersed_out",
                        int(ctx.rng.integers(1, 3)), int(ctx.rng.integers(5, 8)))


def fan_in(ctx: InjectionContext, behaviour: str) -> Planted:
    """Plain fan-in: 5-7 distinct senders into one account, which keeps the money."""
    return _hub_pattern(ctx, behaviour, "fan_in", int(ctx.rng.integers(5, 8)), 0)


def fan_out(ctx: InjectionContext, behaviour: str) -> Planted:
    """Plain fan-out: one account pays 5-7 distinct receivers (funded earlier)."""
    n_out = int(ctx.rng.integers(5, 8))
    accounts = ctx.take_accounts(1 + n_out)
    hub, receivers = accounts[0], accounts[1:]
    p = ctx.planted("fan_out", behaviour, hub, accounts, "hub", [[hub], receivers], 1)
    for i, (d, a) in enumerate(zip(ctx.days(n_out, behaviour), ctx.amount(behaviour, ctx.phi_transfer, n_out))):
        p.add(hub, receivers[i], d, i, a)
        p.moved += a
    return p


def pass_through_chain(ctx: InjectionContext, behaviour: str) -> Planted:
    """过渡账户: money enters a chain of 1-3 intermediaries and leaves within the day,
    in and out matching within the tolerance; 2-4 rounds (SPEC §3.2). The subject is the
    first intermediary."""
    n_mid = int(ctx.rng.integers(1, 4))
    rounds = int(ctx.rng.integers(2, 5))
    accounts = ctx.take_accounts(n_mid + 2)
    p = ctx.planted("pass_through", behaviour, accounts[1], accounts, "first_intermediary",
                    [[a] for a in accounts], n_mid + 1)
    for r, (d, a) in enumerate(zip(ctx.days(rounds, behaviour), ctx.amount(behaviour, ctx.phi_transfer, rounds))):
        for hop in range(n_mid + 1):
            p.add(accounts[hop], accounts[hop + 1], d, hop, a)
            if hop == 1 or (hop == 0 and n_mid == 0):
                p.moved += a
            a = _cents(a * (1 - ctx.fee(behaviour)))
    return p


def structuring(ctx: InjectionContext, behaviour: str) -> Planted:
    """Near-threshold structuring per transaction: 4-7 cash deposits into one account,
    each just under the cash threshold with low variance (SPEC §3.3). Naive smurfs put
    two or three such deposits on the same day, so the daily sum crosses Φ."""
    n = int(ctx.rng.integers(4, 8))
    (acct,) = ctx.take_accounts(1)
    p = ctx.planted("structuring", behaviour, acct, [acct], "account", [[acct]], 1, channel="cash")
    if behaviour == ADAPTIVE:
        days = ctx.days(n, behaviour)
        amounts = ctx.amount(behaviour, ctx.phi_cash, n)
    else:
        start = ctx.start_day(3)
        days = start + np.sort(ctx.rng.integers(0, 3, n))
        days[:2] = start  # at least two on one day
        amounts = np.floor(ctx.rng.uniform(0.9, 0.99, n) * ctx.phi_cash)
    for i, (d, a) in enumerate(zip(days, amounts)):
        p.add(-1, acct, d, i, a)
        p.moved += a
    return p


def structuring_daily(ctx: InjectionContext, behaviour: str) -> Planted:
    """Structuring by daily cumulative sum: split deposits whose daily total sits just
    under the cash threshold on 3-6 days (SPEC §3.3). Adaptive: two deposits a day (not
    "frequent"); naive: three or four, totalling at or above Φ."""
    n_days = int(ctx.rng.integers(3, 7))
    (acct,) = ctx.take_accounts(1)
    p = ctx.planted("structuring_daily", behaviour, acct, [acct], "account", [[acct]], 1, channel="cash")
    for d in ctx.days(n_days, ADAPTIVE if behaviour == ADAPTIVE else NAIVE):
        if behaviour == ADAPTIVE:
            total = ctx.rng.uniform(ctx.band_low + 0.03, ctx.daily_fraction) * ctx.phi_cash
            parts = 2
        else:
            total = ctx.rng.uniform(1.0, 1.3) * ctx.phi_cash
            parts = int(ctx.rng.integers(3, 5))
        share = ctx.rng.dirichlet(np.full(parts, 20.0))
        amounts = np.floor(total * share * 100) / 100
        for i, a in enumerate(amounts):
            p.add(-1, acct, d, i, a)
            p.moved += a
    return p


def _active_days(ctx: InjectionContext, n: int, behaviour: str) -> np.ndarray:
    """Days of ``n`` successive hops: adaptive on the two-on-one-off days of the short
    term, naive within one or two days (non-decreasing either way)."""
    if behaviour == ADAPTIVE:
        return ctx.days(n, ADAPTIVE)
    return ctx.start_day(2) + np.sort(ctx.rng.integers(0, 2, n))


def cycle(ctx: InjectionContext, behaviour: str) -> Planted:
    """Round-tripping: money leaves the start, goes round 2-6 accounts in 2-6 hops and
    comes back, each hop after the previous one and forwarding 90-99 % of what it
    received. The subject is the start; ``moved`` is the amount that came back."""
    length = int(ctx.rng.integers(2, 7))
    accounts = ctx.take_accounts(length)
    p = ctx.planted("cycle", behaviour, accounts[0], accounts, "cycle_start", [[a] for a in accounts], length)
    a = float(ctx.amount(behaviour, ctx.phi_transfer, 1)[0])
    for hop, d in enumerate(_active_days(ctx, length, behaviour)):
        p.add(accounts[hop], accounts[(hop + 1) % length], d, hop, a)
        p.moved = a
        a = ctx.forward(a)
    return p


def scatter_gather(ctx: InjectionContext, behaviour: str) -> Planted:
    """Scatter-gather: a source pays 3-6 degree-1 intermediaries, each passes 90-99 % on
    to one sink the same day (one intermediary per active day when adaptive). The
    subject is the sink; ``moved`` is what reached it."""
    k = int(ctx.rng.integers(3, 7))
    accounts = ctx.take_accounts(k + 2)
    source, sink, mids = accounts[0], accounts[1], accounts[2:]
    p = ctx.planted("scatter_gather", behaviour, sink, accounts, "sink", [[source], mids, [sink]], 2)
    for i, (d, a) in enumerate(zip(ctx.days(k, behaviour), ctx.amount(behaviour, ctx.phi_transfer, k))):
        p.add(source, mids[i], d, 2 * i, a)
        out = ctx.forward(a)
        p.add(mids[i], sink, d, 2 * i + 1, out)
        p.moved += out
    return p


def gather_scatter(ctx: InjectionContext, behaviour: str) -> Planted:
    """Gather-scatter: 5-7 senders pay a hub that passes the money on to 5-7 receivers
    ("many" on both sides, SPEC §3.1), the hub's inflow and outflow inside one short term
    (each inflow forwarded at once, the smaller side taking turns). The subject is the hub."""
    return _hub_pattern(ctx, behaviour, "gather_scatter", int(ctx.rng.integers(5, 8)), int(ctx.rng.integers(5, 8)))


def _layered(ctx: InjectionContext, behaviour: str, typology: str, n_layers: int) -> Planted:
    """One connected layered flow (AMLworld's BIPARTITE / STACK): 2-3 sources pay 4-6 paths
    of ``n_layers`` degree-1 middle accounts (each source at least two paths), the last
    middle of a path paying one of 2-3 sinks. One path per active day (adaptive), each
    middle forwarding 90-99 % later in the day. The subject is the first middle account
    (of the earliest path); ``moved`` is what reached the sinks.

    Source ``i``'s paths go to consecutive sinks (taken round the ring of sinks) starting
    at the last sink of source ``i - 1``, so neighbouring sources share a sink: the paths
    cross, every sink is paid, and sources, middles and sinks form one weakly connected
    flow, not independent chains.
    """
    n_src, n_sink = (int(ctx.rng.integers(2, 4)) for _ in range(2))
    # six paths at most: one per adaptive active day, and naive days crowd into three
    n_paths = int(ctx.rng.integers(2 * n_src, 7))
    paths_of_source = np.full(n_src, 2) + np.bincount(ctx.rng.integers(0, n_src, n_paths - 2 * n_src),
                                                      minlength=n_src)
    first_sink = np.concatenate([[0], np.cumsum(paths_of_source - 1)[:-1]])
    ends = [(i, (first_sink[i] + j) % n_sink) for i in range(n_src) for j in range(paths_of_source[i])]
    # in time the sources interleave, rather than one paying all its paths before the next
    ends = [ends[k] for k in ctx.rng.permutation(n_paths)]
    accounts = ctx.take_accounts(n_src + n_paths * n_layers + n_sink)
    sources, sinks = accounts[:n_src], accounts[len(accounts) - n_sink:]
    middles = [accounts[n_src + k * n_paths:n_src + (k + 1) * n_paths] for k in range(n_layers)]
    p = ctx.planted(typology, behaviour, middles[0][0], accounts, "first_intermediary",
                    [sources, *middles, sinks], n_layers + 1)
    amounts = ctx.amount(behaviour, ctx.phi_transfer, n_paths)
    for i, (d, a, (src, sink)) in enumerate(zip(ctx.days(n_paths, behaviour), amounts, ends)):
        path = [sources[src], *(layer[i] for layer in middles), sinks[sink]]
        for hop in range(n_layers + 1):
            p.add(path[hop], path[hop + 1], d, (n_layers + 1) * i + hop, a)
            if hop < n_layers:
                a = ctx.forward(a)
        p.moved += a
    return p


def bipartite(ctx: InjectionContext, behaviour: str) -> Planted:
    """Bipartite layering: sources -> one layer of middle accounts -> sinks."""
    return _layered(ctx, behaviour, "bipartite", 1)


def stack(ctx: InjectionContext, behaviour: str) -> Planted:
    """Stack layering: sources -> two layers of middle accounts -> sinks."""
    return _layered(ctx, behaviour, "stack", 2)


def random_chain(ctx: InjectionContext, behaviour: str) -> Planted:
    """AMLworld's "random" (layering in 001's sense): a forwarding chain of 3-6 hops
    through degree-1 accounts, each forwarding 90-99 % of what it received within a few
    days (the next active day when adaptive, within two days when naive). The subject is
    the first intermediary; ``moved`` is what reached the end of the chain."""
    n_hops = int(ctx.rng.integers(3, 7))
    accounts = ctx.take_accounts(n_hops + 1)
    p = ctx.planted("random", behaviour, accounts[1], accounts, "first_intermediary",
                    [[a] for a in accounts], n_hops)
    a = float(ctx.amount(behaviour, ctx.phi_transfer, 1)[0])
    for hop, d in enumerate(_active_days(ctx, n_hops, behaviour)):
        p.add(accounts[hop], accounts[hop + 1], d, hop, a)
        p.moved = a
        a = ctx.forward(a)
    return p


#: Laundering typologies by name.
TYPOLOGIES = {
    "dispersed_in_concentrated_out": dispersed_in_concentrated_out,
    "concentrated_in_dispersed_out": concentrated_in_dispersed_out,
    "fan_in": fan_in,
    "fan_out": fan_out,
    "pass_through": pass_through_chain,
    "structuring": structuring,
    "structuring_daily": structuring_daily,
    "cycle": cycle,
    "scatter_gather": scatter_gather,
    "gather_scatter": gather_scatter,
    "bipartite": bipartite,
    "stack": stack,
    "random": random_chain,
}

#: The multi-hop typologies: degree-1 intermediaries forwarding ``forward_share``.
MULTI_HOP = ("cycle", "scatter_gather", "bipartite", "stack", "random")
