"""The multi-hop injectors, the new look-alikes, seven-day timing and the currency setting."""

import itertools
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from flowgraph import prc_calendar
from flowgraph.cli import main
from flowgraph.config import PBOC_2016
from flowgraph.errors import ConfigError
from flowgraph.simulate import TYPOLOGIES, SimulationParams, simulate, write_simulation
# the look-alikes a default bank plants (the trafficking pack's only on request)
from flowgraph.simulate.lookalikes import LOOKALIKES, LookalikeSupply
from flowgraph.simulate.population import make_population
from flowgraph.simulate.typologies import ADAPTIVE, NAIVE, InjectionContext

PHI = 500_000.0
WINDOW_DAYS = 10
SEEDS = range(25)
NEW = ("cycle", "scatter_gather", "gather_scatter", "bipartite", "stack", "random")
ROLE = {"cycle": "cycle_start", "scatter_gather": "sink", "gather_scatter": "hub", "bipartite": "first_intermediary",
        "stack": "first_intermediary", "random": "first_intermediary"}


def context(seed, n_days=40):
    fresh = itertools.count()
    return InjectionContext(rng=np.random.default_rng(seed), n_days=n_days, phi_transfer=PHI, phi_cash=50_000.0,
                            take_accounts=lambda k: [next(fresh) for _ in range(k)])


def planted(name, behaviour, seed):
    return TYPOLOGIES[name](context(seed), behaviour)


def txns(p):
    """(src, dst, (day, slot), amount) in time order: slots order a day's transactions."""
    return sorted(zip(p.src, p.dst, zip(p.day, p.slot), p.amount), key=lambda t: t[2])


def intermediaries(p):
    """Accounts the typology moves money through: each has one payer and one payee."""
    if p.typology == "cycle":
        return [layer[0] for layer in p.layers[1:]]
    if p.typology == "gather_scatter":
        return []
    return [a for layer in p.layers[1:-1] for a in layer]


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("behaviour", [NAIVE, ADAPTIVE])
def test_planted_record_says_what_a_detector_should_find(name, behaviour):
    for seed in SEEDS:
        p = planted(name, behaviour, seed)
        assert p.typology == name and p.subject_role == ROLE[name]
        assert sorted(a for layer in p.layers for a in layer) == sorted(p.accounts)
        assert len(set(p.accounts)) == len(p.accounts)
        assert set(p.src) | set(p.dst) == set(p.accounts)
        if ROLE[name] == "first_intermediary":
            assert p.subject == p.layers[1][0]
        elif ROLE[name] == "sink":
            assert p.layers[-1] == [p.subject]
        else:
            assert p.subject == p.layers[0 if name == "cycle" else 1][0]
        assert p.hops == (len(p.layers) if name == "cycle" else len(p.layers) - 1)


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("behaviour", [NAIVE, ADAPTIVE])
def test_intermediaries_have_degree_one_forward_later_and_keep_a_fee(name, behaviour):
    low, high = InjectionContext.forward_share
    for seed in SEEDS:
        p = planted(name, behaviour, seed)
        inflow, outflow = defaultdict(list), defaultdict(list)
        for src, dst, when, amount in txns(p):
            outflow[src].append((when, amount, dst))
            inflow[dst].append((when, amount, src))
        for a in intermediaries(p):
            (got_when, got, payer), = inflow[a]
            (sent_when, sent, payee), = outflow[a]
            assert sent_when > got_when, (name, seed, a)
            assert low * got - 0.01 <= sent <= high * got, (name, seed, got, sent)
            assert payer != payee or (name == "cycle" and p.hops == 2)  # A -> B -> A
        if name == "gather_scatter":  # the hub forwards each inflow at once, minus its fee
            hub = p.subject
            for (t_in, got, _), (t_out, sent, _) in zip(inflow[hub], outflow[hub]):
                assert t_out > t_in and 0.9 * got - 0.01 <= sent <= got
            assert len({s for *_, s in inflow[hub]}) >= 3 and len({d for *_, d in outflow[hub]}) >= 3
            assert all(len({c for *_, c in inflow[x] + outflow[x]}) == 1 for x in p.accounts if x != hub)
        if name == "scatter_gather":
            assert len(p.layers[1]) >= 3


@pytest.mark.parametrize("behaviour", [NAIVE, ADAPTIVE])
def test_cycle_comes_back_to_its_start_hop_by_hop(behaviour):
    lengths = set()
    for seed in SEEDS:
        p = planted("cycle", behaviour, seed)
        hops = txns(p)
        lengths.add(len(hops))
        assert [h[0] for h in hops] == p.accounts and [h[1] for h in hops] == p.accounts[1:] + p.accounts[:1]
        assert hops[0][0] == hops[-1][1] == p.subject
        assert p.moved == hops[-1][3]  # the amount that came back
    assert lengths == {2, 3, 4, 5, 6}


@pytest.mark.parametrize("name", ["random", "stack", "bipartite"])
def test_chains_and_layers_pass_money_on_path_by_path(name):
    for seed in SEEDS:
        p = planted(name, ADAPTIVE, seed)
        sinks = set(p.layers[-1])
        assert np.isclose(p.moved, sum(a for _, dst, _, a in txns(p) if dst in sinks))
        if name == "random":
            assert len(p.accounts) - 1 == p.hops >= 3
            path = [h[0] for h in txns(p)] + [txns(p)[-1][1]]
            assert path == p.accounts
            days = [d for d, _ in sorted(zip(p.day, p.slot))]
            assert max(np.diff(days)) <= 2  # forwarded within a few days


def weak_components(edges):
    """The weakly connected components (sets of accounts) of directed ``edges``."""
    parent = {}

    def root(a):
        parent.setdefault(a, a)
        while parent[a] != a:
            a = parent[a]
        return a

    for src, dst in edges:
        parent[root(src)] = root(dst)
    components = defaultdict(set)
    for a in list(parent):
        components[root(a)].add(a)
    return list(components.values())


@pytest.mark.parametrize("name", ["bipartite", "stack"])
@pytest.mark.parametrize("behaviour", [NAIVE, ADAPTIVE])
def test_layered_pattern_is_one_connected_flow_not_separate_chains(name, behaviour):
    """AMLworld's BIPARTITE/STACK: sources pay middles that pay shared sinks, the paths
    crossing, so the planted transactions form one flow with >= 2 sources and sinks."""
    shapes = set()
    for seed in SEEDS:
        p = planted(name, behaviour, seed)
        edges = list(zip(p.src, p.dst))
        assert weak_components(edges) == [set(p.accounts)], seed
        sources, *middles, sinks = p.layers
        assert len(middles) == (1 if name == "bipartite" else 2)
        assert len(sources) >= 2 and len(sinks) >= 2
        assert {s for s, _ in edges} - {d for _, d in edges} == set(sources)
        assert {d for _, d in edges} - {s for s, _ in edges} == set(sinks)
        for source in sources:
            assert sum(s == source for s, _ in edges) >= 2
        for first, second in zip(middles, middles[1:] + [sinks]):  # each layer pays the next
            assert {(s, d) for s, d in edges if s in first} <= set(itertools.product(first, second))
        shapes.add((len(sources), len(sinks)))
    assert shapes == {(2, 2), (2, 3), (3, 2), (3, 3)}


@pytest.mark.parametrize("name", NEW)
def test_naive_crosses_phi_fast_adaptive_stays_under_and_spreads(name):
    naive_spans, adaptive_spans = [], []
    for seed in SEEDS:
        naive = planted(name, NAIVE, seed)
        assert max(naive.amount) >= PHI
        naive_spans.append(max(naive.day) - min(naive.day) + 1)

        p = planted(name, ADAPTIVE, seed)
        assert max(p.amount) < PHI and max(p.amount) >= 0.85 * PHI
        adaptive_spans.append(max(p.day) - min(p.day) + 1)
        per_day = defaultdict(float)
        active = defaultdict(set)
        count = defaultdict(int)
        for src, dst, (day, _), amount in txns(p):
            per_day[src, "out", day] += amount
            per_day[dst, "in", day] += amount
            for a in (src, dst):
                active[a].add(day)
                count[a, day] += 1
        assert max(per_day.values()) < PHI  # daily cumulative per account and direction
        assert max(count.values()) <= 2  # never "frequent": < 3 a day ...
        for days in active.values():  # ... nor 3 consecutive days
            days = sorted(days)
            assert not any(days[i + 2] - days[i] == 2 for i in range(len(days) - 2))
    assert max(adaptive_spans) <= WINDOW_DAYS
    # naive: crowded into a few days (a hub pattern puts its 5-7 steps on half as many days)
    assert max(naive_spans) <= (4 if name == "gather_scatter" else 3) and np.mean(naive_spans) < np.mean(adaptive_spans)


# -- look-alikes -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def supply_and_context():
    pop = make_population(1_500, np.random.default_rng(0))
    return lambda seed: (context(seed, n_days=60), LookalikeSupply(pop, np.random.default_rng(seed)))


def test_family_money_comes_back_slower_than_the_short_term(supply_and_context):
    shapes = set()
    for seed in SEEDS:
        ctx, supply = supply_and_context(seed)
        p = LOOKALIKES["family_round_trip"](ctx, supply)
        hops = txns(p)
        shapes.add(len(hops))
        assert hops[0][0] == hops[-1][1] == p.subject and p.behaviour == "lookalike"
        assert hops[-1][2][0] - hops[0][2][0] > WINDOW_DAYS
    assert 2 in shapes and shapes & {3, 4}


def test_supplier_chain_pays_on_terms_at_a_margin_every_month(supply_and_context):
    for seed in SEEDS:
        ctx, supply = supply_and_context(seed)
        p = LOOKALIKES["supplier_chain"](ctx, supply)
        per_month = len(p.accounts) - 1
        assert len(p.src) == 2 * per_month  # 60 days: two monthly rounds
        for month in range(2):
            chain = list(zip(p.src, p.dst, zip(p.day, p.slot), p.amount))[month * per_month:(month + 1) * per_month]
            for (_, b, (d1, _), paid), (payer, _, (d2, _), passed) in zip(chain, chain[1:]):
                assert payer == b and d2 - d1 >= 10 and 0.6 * paid - 50 <= passed <= 0.85 * paid + 50


def test_settlement_layers_settle_each_merchant_next_day_minus_a_fee(supply_and_context):
    for seed in SEEDS[:10]:
        ctx, supply = supply_and_context(seed)
        p = LOOKALIKES["settlement_layers"](ctx, supply)
        customers, (processor,), merchants = p.layers
        assert p.subject == processor and len(customers) >= 20 and len(merchants) >= 3
        t = pd.DataFrame({"src": p.src, "dst": p.dst, "day": p.day, "amount": p.amount})
        collected = t[t.dst == processor]
        settled = t[t.src == processor].set_index(["dst", "day"]).amount
        for day, paid in collected.groupby("day"):
            day_settled = settled.xs(day + 1, level="day")
            assert 0.975 * paid.amount.sum() - 0.1 <= day_settled.sum() <= 0.994 * paid.amount.sum() + 0.1


# -- in a bank: timing, currency, determinism, the command line -----------------------------

BANK = dict(n_customers=600, n_days=30, patterns_per_typology=2, lookalikes_per_kind=1, recruit_pool_share=0.6,
            typology_mix={name: 0 for name in set(TYPOLOGIES) - set(NEW)})


@pytest.fixture(scope="module")
def seven_day_usd():
    return simulate(seed=21, week="seven_day", currency="USD", **BANK)


def test_seven_day_week_puts_patterns_on_weekends_and_holidays(seven_day_usd):
    t, p = seven_day_usd.transactions, seven_day_usd.patterns
    start = np.datetime64(SimulationParams().start)
    dates = t.timestamp.to_numpy().astype("datetime64[D]")
    assert dates.min() >= start and dates.max() < start + 30  # n_days counts calendar days
    planted = t.pattern_id.notna()
    weekend = t.timestamp.dt.day_of_week >= 5
    assert (planted & weekend).any() and (~planted & weekend & (t.channel == "cash")).any()
    cal = prc_calendar()
    off_days = [d for d in np.unique(dates[planted.to_numpy()]) if not cal.is_business_day(d)]
    assert off_days
    assert ((p.last_day - p.first_day).dt.days + 1 == p.n_days).all()


def test_business_week_keeps_patterns_on_business_days():
    bank = simulate(seed=21, **BANK)
    cal = prc_calendar()
    t = bank.transactions[bank.transactions.pattern_id.notna()]
    assert all(cal.is_business_day(d) for d in t.timestamp.dt.date.unique())


def test_amounts_sit_around_the_chosen_currencys_threshold(seven_day_usd):
    t, p = seven_day_usd.transactions, seven_day_usd.patterns
    phi_usd = PBOC_2016.rule("LV-PERSON").threshold_foreign
    laundering = t[t.is_laundering == 1]
    assert set(laundering.currency) == {"USD"} and set(p.currency) >= {"USD"}
    assert (p.loc[p.behaviour != "lookalike", "phi"] == phi_usd).all()
    first = laundering.groupby("pattern_id").amount.max()
    behaviour = p.set_index("pattern_id").behaviour
    assert (first[behaviour[first.index] == "adaptive"].between(0.85 * phi_usd, phi_usd, inclusive="left")).all()
    assert (first[behaviour[first.index] == "naive"] >= phi_usd).all()


def test_pattern_table_names_layers_hops_and_roles(seven_day_usd):
    p = seven_day_usd.patterns
    assert set(p.typology) == set(NEW) | set(LOOKALIKES)
    for row in p.itertuples():
        assert sorted(a for layer in row.layers for a in layer) == sorted(row.accounts)
        assert row.subject in row.accounts and row.hops >= 1 and row.subject_role
    assert set(p.loc[p.typology.isin(NEW), "subject_role"]) == set(ROLE.values())


def test_same_seed_same_bank_other_seed_other_bank(seven_day_usd):
    again = simulate(seed=21, week="seven_day", currency="USD", **BANK)
    pd.testing.assert_frame_equal(again.transactions, seven_day_usd.transactions)
    pd.testing.assert_frame_equal(again.patterns, seven_day_usd.patterns)
    other = simulate(seed=22, week="seven_day", currency="USD", **BANK)
    assert not other.transactions[["amount"]].equals(seven_day_usd.transactions[["amount"]])


@pytest.mark.parametrize("kwargs, name", [({"week": "weekdays"}, "week"), ({"currency": "EUR"}, "currency")])
def test_bad_week_or_currency_names_the_parameter(kwargs, name):
    with pytest.raises(ConfigError, match=f"The '{name}' parameter of SimulationParams must be a str among"):
        SimulationParams(**kwargs)


@pytest.mark.parametrize("week", ["business", "seven_day"])
def test_simulated_bank_builds_and_scans(tmp_path, monkeypatch, week):
    monkeypatch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path / "key"))
    if week == "business":
        assert main(["simulate", "--seed", "3", "--customers", "700", "--days", "20", "--patterns-per-typology", "1",
                     "--out", str(tmp_path / "data")]) == 0
    else:
        write_simulation(simulate(seed=3, week=week, **BANK), tmp_path / "data")
    assert main(["scan", str(tmp_path / "data"), "--out", str(tmp_path / "scan")]) == 0
    patterns = pd.read_parquet(tmp_path / "data" / "patterns.parquet")
    assert set(NEW) <= set(patterns.typology)
    assert patterns.layers.map(len).min() >= 1
    assert (tmp_path / "scan" / "hits.parquet").exists()
