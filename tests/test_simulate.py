import hashlib
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowgraph import W, prc_calendar
from flowgraph.cli import main
from flowgraph.config import PBOC_2016
from flowgraph.errors import ConfigError
from flowgraph.schema import validate_accounts, validate_transactions
from flowgraph.simulate import SimulationParams, simulate, write_simulation
# the kinds a default bank plants (the trafficking pack's only on request)
from flowgraph.simulate.lookalikes import LOOKALIKES
from flowgraph.simulate.typologies import MULTI_HOP, TYPOLOGIES
from reference.large_value import large_value_reference

SMALL = dict(n_customers=1_000, n_days=30, patterns_per_typology=4, lookalikes_per_kind=2, recruit_pool_share=0.6)


@pytest.fixture(scope="module")
def bank():
    return simulate(seed=11, **SMALL)


def reference_rows(bank):
    """The bank's transactions as the large-value reference wants them."""
    v = validate_transactions(bank.transactions, "sim")
    assert v.report.ok, v.report
    t = v.table
    acct = bank.accounts.set_index("account_id")
    cust, party = acct["customer_id"].to_dict(), acct["party_type"].to_dict()
    bdays, idx = prc_calendar().business_day_index(t.timestamp.to_numpy())
    rows = []
    for i, r in enumerate(t.itertuples(index=False)):
        src = None if pd.isna(r.src_account) else r.src_account
        dst = None if pd.isna(r.dst_account) else r.dst_account
        rows.append(dict(txn_id=r.txn_id, business_day=int(idx[i]), src_customer=cust.get(src),
                         dst_customer=cust.get(dst), src_party=party.get(src), dst_party=party.get(dst),
                         channel=str(r.channel), is_home_currency=r.currency == "CNY",
                         amount_cny=r.amount_cny, amount_usd=r.amount_usd, account_src=src, account_dst=dst,
                         pattern_id=None if pd.isna(r.pattern_id) else r.pattern_id))
    return rows


# -- ground truth ------------------------------------------------------------------------

def test_planted_counts_match_ground_truth(bank):
    p, t = bank.patterns, bank.transactions
    expected = SimulationParams(**SMALL).counts()
    assert p.typology.value_counts().to_dict() == {k: v for k, v in expected.items() if v}
    # every pattern's transactions carry its id, typology and label
    per_pattern = t.dropna(subset=["pattern_id"]).groupby("pattern_id")
    assert per_pattern.size().to_dict() == p.set_index("pattern_id").n_txns.to_dict()
    assert (per_pattern.typology.first() == p.set_index("pattern_id").typology).all()
    label = per_pattern.is_laundering.agg(["min", "max"])
    behaviour = p.set_index("pattern_id").behaviour
    assert (label["min"] == label["max"]).all()
    assert (label["max"].astype(bool) == (behaviour != "lookalike")).all()
    # background carries no label
    assert t.loc[t.pattern_id.isna(), "is_laundering"].sum() == 0
    assert t.loc[t.pattern_id.isna(), "typology"].isna().all()
    # each pattern's accounts are exactly the accounts its transactions touch
    for row in p.itertuples():
        txns = t[t.pattern_id == row.pattern_id]
        touched = set(txns.src_account.dropna()) | set(txns.dst_account.dropna())
        assert touched == set(row.accounts), row.pattern_id
        assert row.subject in row.accounts and row.n_accounts == len(row.accounts)
        assert row.first_day.date() <= txns.timestamp.min().date()


def test_behaviours_split_per_typology(bank):
    counts = bank.patterns.groupby(["typology", "behaviour"]).size()
    for name in TYPOLOGIES:
        assert counts[(name, "adaptive")] == 2 and counts[(name, "naive")] == 2
    for name in LOOKALIKES:
        assert counts[(name, "lookalike")] == 2


def test_launderers_use_disjoint_accounts(bank):
    laundering = bank.patterns[bank.patterns.behaviour != "lookalike"]
    all_accounts = [a for accts in laundering.accounts for a in accts]
    assert len(all_accounts) == len(set(all_accounts))


def test_lookalikes_carry_no_laundering_label(bank):
    ids = set(bank.patterns.loc[bank.patterns.behaviour == "lookalike", "pattern_id"])
    t = bank.transactions
    assert len(ids) == 2 * len(LOOKALIKES)
    assert t.loc[t.pattern_id.isin(ids), "is_laundering"].sum() == 0


def test_lookalike_shapes(bank):
    p = bank.patterns.set_index("pattern_id")
    t = bank.transactions
    accts = bank.accounts.set_index("account_id")
    for pid, row in p[p.typology == "treasury_sweep"].iterrows():
        txns = t[t.pattern_id == pid]
        # the sweep goes between two accounts of one customer and matches the day's inflow exactly
        sweep = txns[txns.dst_account == row.accounts[1]]
        assert accts.customer_id[row.accounts[0]] == accts.customer_id[row.accounts[1]]
        inflow = txns[txns.dst_account == row.accounts[0]].groupby(txns.timestamp.dt.date).amount.sum().round(2)
        assert sweep.groupby(sweep.timestamp.dt.date).amount.sum().round(2).to_dict() == inflow.to_dict()
    for pid in p.index[p.typology == "rent_under_round"]:
        amounts = t.loc[t.pattern_id == pid, "amount"]
        assert amounts.nunique() == 1 and (amounts < PBOC_2016.rule("LV-CASH").threshold_home).all()
    for pid in p.index[p.typology == "payroll_fan_out"]:
        assert p.loc[pid, "n_accounts"] >= 17


# -- adaptive launderers keep every rule; naive ones break some ----------------------------

def check_behaviours(bank):
    rows = reference_rows(bank)
    single, daily = large_value_reference(rows, PBOC_2016)
    acct = bank.accounts.set_index("account_id")
    patterns = bank.patterns.set_index("pattern_id")
    phi = {"transfer": PBOC_2016.rule("LV-PERSON").threshold_home, "cash": PBOC_2016.rule("LV-CASH").threshold_home}
    crossing_customers = {(k[0], k[4]) for k, v in daily.items()
                          if v >= (PBOC_2016.rule(k[4]).threshold_home if k[3] == "CNY" else PBOC_2016.rule(k[4]).threshold_foreign)}
    single_txns = {t for t, _ in single}
    for pid, p in patterns.iterrows():
        txns = [r for r in rows if r["pattern_id"] == pid]
        customers = {acct.customer_id[a] for a in p.accounts}
        if p.behaviour == "adaptive":
            # no transaction of the pattern is reportable on its own ...
            assert not ({r["txn_id"] for r in txns} & single_txns), pid
            # ... and no daily cumulative sum of its customers crosses, whatever else they did
            assert not {c for c, _ in crossing_customers} & customers, pid
            # large transactions (>= 0.8 phi): never 3 a day, never 3 consecutive business days
            for a in p.accounts:
                large_days = [r["business_day"] for r in txns if a in (r["account_src"], r["account_dst"])
                              and r["amount_cny"] >= 0.8 * phi[p.channel]]
                per_day = pd.Series(large_days).value_counts()
                assert per_day.empty or per_day.max() <= 2, (pid, a)
                days = sorted(set(large_days))
                assert not any(days[i + 2] - days[i] == 2 for i in range(len(days) - 2)), (pid, a, days)
            # within the short term, and at or under the W(N, D) ceiling
            span = max(r["business_day"] for r in txns) - min(r["business_day"] for r in txns) + 1
            assert span <= PBOC_2016.short_term_days and span == p.n_days
            assert p.amount <= W(p.n_accounts, p.n_days) * p.phi, pid
            assert p.utilisation <= 1.0
            # pushed toward the ceiling: transactions sit high in the band (or daily sums do)
            if p.typology == "structuring_daily":
                day_sums = pd.Series([r["amount_cny"] for r in txns]).groupby([r["business_day"] for r in txns]).sum()
                assert (day_sums >= 0.85 * phi["cash"]).all()
            elif p.typology in MULTI_HOP:
                # the first hop sits high in the band; later hops shrink by the fees
                assert max(r["amount_cny"] for r in txns) >= 0.85 * phi[p.channel], pid
            else:
                assert min(r["amount_cny"] for r in txns) >= 0.8 * phi[p.channel], pid
        elif p.behaviour == "naive":
            crosses = {r["txn_id"] for r in txns} & single_txns or customers & {c for c, _ in crossing_customers}
            assert crosses, pid


def test_adaptive_launderers_keep_every_rule_naive_ones_do_not(bank):
    check_behaviours(bank)


@settings(max_examples=4, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_adaptive_launderers_keep_every_rule_over_seeds(seed):
    check_behaviours(simulate(seed=seed, n_customers=500, n_days=25, patterns_per_typology=2,
                              lookalikes_per_kind=1, recruit_pool_share=0.6))


def test_innocent_customers_trigger_large_value_rules_too():
    bank = simulate(seed=5, n_customers=1_500, n_days=40)
    rows = [r for r in reference_rows(bank) if r["pattern_id"] is None]
    single, _ = large_value_reference(rows, PBOC_2016)
    fired = {code for _, code in single}
    assert {"LV-CASH", "LV-ENTITY", "LV-PERSON", "LV-PERSON-XB"} <= fired


def test_background_has_every_activity_and_both_party_types(bank):
    t = bank.transactions
    assert set(t.channel) == {"cash", "transfer", "cross_border"}
    assert {"USD", "CNY"} <= set(t.currency)
    assert set(bank.accounts.party_type) == {"person", "entity"}
    assert bank.accounts.groupby("customer_id").size().max() >= 2
    # weekend card payments exist and roll onto business days when ingested
    assert (t.timestamp.dt.day_of_week >= 5).any()
    assert "mule_pool" not in set(bank.accounts.segment)


# -- determinism, files, CLI ---------------------------------------------------------------

def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        write_simulation(simulate(seed=seed, **SMALL), tmp_path / name)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a")["transactions.parquet"] != digest(tmp_path / "c")["transactions.parquet"]


def test_typology_mix_does_not_move_the_background():
    a = simulate(seed=2, n_customers=1_000, n_days=20, recruit_pool_share=0.4)
    b = simulate(seed=2, n_customers=1_000, n_days=20, recruit_pool_share=0.4, typology_mix={"cycle": 0})
    assert "cycle" not in set(b.patterns.typology)
    bg = lambda bank: bank.transactions[bank.transactions.pattern_id.isna()].drop(columns="txn_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(bg(a), bg(b))


def test_files_follow_spec_section_10(tmp_path, capsys):
    code = main(["simulate", "--seed", "1", "--customers", "1000", "--days", "20", "--out", str(tmp_path),
                 "--mix", "fan_in=3", "--patterns-per-typology", "2"])
    assert code == 0
    assert "planted patterns" in capsys.readouterr().out
    t = pd.read_parquet(tmp_path / "transactions.parquet")
    assert {"txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel",
            "is_laundering", "pattern_id"} <= set(t.columns)
    p = pd.read_parquet(tmp_path / "patterns.parquet")
    assert {"pattern_id", "typology", "behaviour", "accounts", "subject", "n_accounts", "first_day",
            "last_day", "amount"} <= set(p.columns)
    assert (p.typology == "fan_in").sum() == 3
    a = pd.read_parquet(tmp_path / "accounts.parquet")
    assert validate_accounts(a).report.ok


@pytest.mark.parametrize("kwargs, name", [
    ({"n_customers": 10}, "n_customers"), ({"n_days": 3}, "n_days"), ({"adaptive_share": 2.0}, "adaptive_share"),
    ({"pass_through_tolerance": 0.05}, "pass_through_tolerance"), ({"typology_mix": {"smurfing": 2}}, "typology_mix"),
    ({"start": "someday"}, "start"), ({"recruit_pool_share": 0.0}, "recruit_pool_share"),
])
def test_bad_parameters_name_parameter_and_range(kwargs, name):
    with pytest.raises(ConfigError, match=f"The '{name}' parameter of SimulationParams must be"):
        SimulationParams(**kwargs)


def test_too_many_patterns_for_the_population():
    with pytest.raises(ConfigError, match="ran out of recruitable accounts"):
        simulate(seed=0, n_customers=100, n_days=20, patterns_per_typology=30)


def test_too_few_customers_says_about_how_many_are_enough():
    """Found by a sweep: a small first simulation failed with "raise --customers" and no
    number; the user guessed. The message gives the pool, what the patterns took and about
    how many customers all of them need, and that many are enough."""
    with pytest.raises(ConfigError) as failed:
        simulate(seed=0, n_customers=500, n_days=20)
    message = str(failed.value)
    assert "the recruiting pool holds 121 (a share of 0.25" in message and "of the 40 patterns took" in message
    enough = int(re.search(r"raise n_customers to about ([\d,]+) or more", message).group(1).replace(",", ""))
    assert 500 < enough < 2_000
    assert len(simulate(seed=0, n_customers=enough, n_days=20).patterns) == 40


def test_too_many_lookalikes_for_the_population_is_a_usage_error():
    # not a ValueError's traceback: the one message names the options to change
    with pytest.raises(ConfigError, match=r"look-alikes\. Fix: simulate more customers \(--customers\)"):
        simulate(seed=20241124, n_customers=300, n_days=60, patterns_per_typology=1, lookalikes_per_kind=1,
                 recruit_pool_share=0.5)


def test_cli_bad_mix_is_a_usage_error(tmp_path):
    assert main(["simulate", "--out", str(tmp_path), "--mix", "fan_in"]) == 2
    assert main(["simulate", "--out", str(tmp_path), "--customers", "10"]) == 2
