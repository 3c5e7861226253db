"""A of structuring and "frequent" hits is one-sided (sweep C, D4): the large-value rules sum
a customer's receipts and payments apart (003 二㈠, SPEC §1), and W(N, D) · Φ is the most that
can move one way without a report (001), so money received and paid on counts once. A hit
above its ceiling (u > 1) then has a large-value hit on that side, and the scan's
cross-check and the STR draft's analysis say what the large-value reports say."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from desk_banks import scan_bank
from flowgraph import W, build_graph, validate_accounts, validate_transactions
from flowgraph.alerts import transaction_share
from flowgraph.desk.reports import str_draft
from flowgraph.desk.str_draft import _above_ceiling
from flowgraph.detectors import run_detectors
from flowgraph.store import Store

COLS = ["txn_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel"]
ONE_SIDED = ("structuring", "structuring_daily", "frequent_daily", "frequent_consecutive")
LARGE_VALUE = ("large_value_single", "large_value_daily")
# 2024-09-02 (Mon) .. 2024-09-13 (Fri): ten business days, no holiday
DAYS = pd.bdate_range("2024-09-02", "2024-09-13").strftime("%Y-%m-%d").tolist()


def graph(rows, customers=None):
    v = validate_transactions(pd.DataFrame(rows, columns=COLS, dtype=str), "t.csv")
    assert v.report.ok, v.report
    ids = sorted({r[2] for r in rows if r[2]} | {r[3] for r in rows if r[3]})
    customers = customers or {a: f"c-{a}" for a in ids}
    accounts = pd.DataFrame([(a, customers[a], "person") for a in sorted(customers)],
                            columns=["account_id", "customer_id", "party_type"])
    return build_graph(v.table, validate_accounts(accounts).table)


def pass_through_rows(out_amounts=(445_000, 447_000, 444_000, 446_000)):
    """Sweep C repro 5: S -> A 450k and A -> D 445k on each of four business days; no
    transaction and no one-sided daily sum reaches the 500,000 LV-PERSON threshold."""
    rows = []
    for k, (got, paid) in enumerate(zip((450_000, 452_000, 449_000, 451_000), out_amounts)):
        rows.append((f"T{2 * k + 1}", f"{DAYS[k]} 09:00:00", "S", "A", f"{got:.2f}", "CNY", "transfer"))
        rows.append((f"T{2 * k + 2}", f"{DAYS[k]} 10:00:00", "A", "D", f"{paid:.2f}", "CNY", "transfer"))
    return rows


def one_side_above_rows():
    """One business day: S pays A twice 450k (A's receipts that day, 900k, are a daily
    large-value sum), A pays D 450k. N = 3, D = 1: W(3, 1) · Φ = 1.2 · 500,000 = 600,000."""
    return [("U1", f"{DAYS[0]} 09:00:00", "S", "A", "450000.00", "CNY", "transfer"),
            ("U2", f"{DAYS[0]} 09:30:00", "S", "A", "450000.00", "CNY", "transfer"),
            ("U3", f"{DAYS[0]} 10:00:00", "A", "D", "450000.00", "CNY", "transfer")]


def hits_on(frame, subject):
    return {h.typology: h for h in frame[frame["subject"] == subject].itertuples()}


def test_a_pass_through_in_the_band_moves_its_money_once():
    hits = run_detectors(graph(pass_through_rows()), ["structuring", "large_value"]).frame
    assert not hits["typology"].isin(LARGE_VALUE).any()
    on_a = hits_on(hits, "A")
    assert set(on_a) == {"structuring", "frequent_consecutive"}
    for h in on_a.values():
        # N = 3 (S, A, D), D = 4: W(3, 4) = 3.2 + 1.2 = 4.4; Φ = 500,000
        assert (h.n_accounts, h.n_days, h.ceiling) == (3, 4, 2_200_000.0)
        assert (h.m_amount_in, h.m_amount_out, h.amount) == (1_802_000.0, 1_782_000.0, 1_802_000.0)
        assert h.utilisation == pytest.approx(1_802_000 / 2_200_000) and h.utilisation < 1
        assert h.m_mean_amount == 3_584_000 / 8  # the band's transactions, both sides
    # the payer and the payee of the chain see one side only, as before
    assert hits_on(hits, "S")["structuring"].amount == 1_802_000.0
    assert hits_on(hits, "D")["frequent_consecutive"].m_amount_out == 0.0


def test_a_hits_id_is_its_identity_not_its_amounts():
    """Hit ids hash detector, typology, parameters, subject, run start and key (channel,
    series), never A or a measure: other amounts in the same band leave the ids alone."""
    before = run_detectors(graph(pass_through_rows()), ["structuring", "large_value"]).frame
    after = run_detectors(graph(pass_through_rows((430_000, 431_000, 432_000, 433_000))),
                          ["structuring", "large_value"]).frame
    assert sorted(before["hit_id"]) == sorted(after["hit_id"])
    a = hits_on(after, "A")["structuring"]
    assert (a.m_amount_out, a.amount) == (1_726_000.0, 1_802_000.0)


def test_one_side_above_its_ceiling_has_its_large_value_report():
    hits = run_detectors(graph(one_side_above_rows()), ["structuring", "large_value"]).frame
    for typology in ("structuring", "frequent_daily"):
        h = hits_on(hits, "A")[typology]
        assert (h.n_accounts, h.n_days, h.ceiling) == (3, 1, 600_000.0)
        assert (h.amount, h.m_amount_in, h.m_amount_out) == (900_000.0, 900_000.0, 450_000.0)
        assert h.utilisation == pytest.approx(1.5)
    daily = hits[hits["typology"] == "large_value_daily"]
    in_a = daily[(daily["subject"] == "A") & (daily["m_direction"] == "in")]
    assert [sorted(t) for t in in_a["txn_ids"]] == [["U1", "U2"]]


def test_scan_check_and_str_analysis_agree_with_the_large_value_reports(tmp_path):
    """The repro scanned: no `check:` hit above its ceiling, and the STR analysis neither
    says 3,584,000 moved nor that large-value reports must exist; one side above the ceiling:
    the analysis names the large-value hits that hold its transactions."""
    (tmp_path / "quiet").mkdir()
    quiet = scan_bank(tmp_path / "quiet", pass_through_rows())
    manifest = json.loads((quiet / "out" / "manifest.json").read_text())
    assert manifest["checks"]["u_above_1_without_large_value"] == []
    store = Store(quiet / "out" / "store.sqlite", create=False)
    stored = store.query("SELECT typology, amount, utilisation FROM hits WHERE subject = 'A' "
                         "AND typology IN ('structuring', 'frequent_consecutive')")
    assert stored["amount"].tolist() == [1_802_000.0] * 2 and (stored["utilisation"] < 1).all()
    assert store.query("SELECT COUNT(*) AS n FROM hits WHERE detector = 'large_value' AND typology IN "
                       "('large_value_single', 'large_value_daily')")["n"].iloc[0] == 0
    alert = store.query("SELECT alert_id FROM alerts WHERE subject = 'A'")["alert_id"].iloc[0]
    text = str_draft(store, alert)["analysis_of_suspicion"]["text"]
    assert "moved 3,584,000" not in text and "above the ceiling" not in text and "must exist" not in text
    assert ("moved 1,802,000.00 CNY one way (received 1,802,000.00, paid 1,782,000.00 CNY; the larger side "
            "counts) across 3 account(s) over 4 business day(s), 0.82 of the most") in text

    (tmp_path / "above").mkdir()
    above = scan_bank(tmp_path / "above", one_side_above_rows())
    assert json.loads((above / "out" / "manifest.json").read_text())["checks"]["u_above_1_without_large_value"] == []
    store = Store(above / "out" / "store.sqlite", create=False)
    alert = store.query("SELECT alert_id FROM alerts WHERE subject = 'A'")["alert_id"].iloc[0]
    text = str_draft(store, alert)["analysis_of_suspicion"]["text"]
    assert ("1.50 of the most the W(N, D) ceiling allows without triggering the reporting standards (600,000.00 "
            "CNY; 001): above the ceiling, and 2 of its 3 transaction(s) are in the scan's large-value hits") in text


def test_str_analysis_says_so_when_no_large_value_hit_holds_a_flow_above_its_ceiling():
    hit = pd.Series({"txn_ids": ["x1", "x2", "x3"]})
    assert "yet none of its transactions is in a large-value hit" in _above_ceiling(hit, lambda h: 0)
    assert "and 3 of its 3 transaction(s) are in the scan's large-value hits" in _above_ceiling(hit, lambda h: 3)
    assert "must have met a large-value reporting rule" in _above_ceiling(hit, None)


def test_closeness_reads_the_transactions_mean_not_a_one_sided_a():
    """A one-sided A over both sides' transactions would halve the transaction size the alert
    model's closeness and size read: the hit states its transactions' mean instead."""
    frame = pd.DataFrame({"txn_ids": [["t"] * 8, ["t"] * 8], "amount": [1_802_000.0] * 2, "w": [4.4] * 2,
                          "ceiling": [2_200_000.0] * 2,
                          "measures": [json.dumps({"amount_in": 1_802_000.0, "mean_amount": 448_000.0}), "{}"]})
    assert transaction_share(frame).tolist() == pytest.approx([448_000 / 500_000, 1_802_000 / 8 / 500_000])


# -- the invariant on random small banks ---------------------------------------------------------

ACCOUNTS = ("P0", "P1", "P2", "P3")
CUSTOMERS = {"P0": "c0", "P1": "c1", "P2": "c2", "P3": "c2"}  # P2 and P3: one customer's two accounts
#: a ring of payments: each account pays and is paid at most once a day by it, so a day's
#: one-sided sum can stay under Φ while both sides together pass it (the case D4 got wrong)
RING = (("P1", "P0"), ("P0", "P2"), ("P2", "P1"))
band = st.integers(44_000_000, 49_999_999)  # cents: [0.88 Φ, Φ) of LV-PERSON, σ under 0.05 Φ
amount_cents = st.one_of(band, band, band, st.integers(50_000_000, 52_000_000), st.integers(100, 10_000_000))
ring_day = st.lists(st.tuples(st.sampled_from(RING), amount_cents), max_size=3, unique_by=lambda x: x[0])
other = st.tuples(st.integers(0, 5), st.sampled_from(ACCOUNTS + ("",)), st.sampled_from(ACCOUNTS + ("",)),
                  amount_cents, st.sampled_from(("transfer", "cash")))
REPRO_DAYS = [[(("P1", "P0"), 45_000_000), (("P0", "P2"), 44_500_000)]] * 4


def bank_rows(days, others):
    rows = []
    for d, payments in enumerate(days):
        for (src, dst), cents in payments:
            rows.append((f"t{len(rows)}", f"{DAYS[d]} 09:{len(rows) % 60:02d}:00", src, dst, f"{cents / 100:.2f}",
                         "CNY", "transfer"))
    for d, src, dst, cents, channel in others:
        if (channel == "transfer" and not (src and dst)) or (channel == "cash" and bool(src) == bool(dst)):
            continue  # a transfer has both parties, cash one
        cents = cents if channel == "transfer" else cents // 10  # cash near its own Φ, 50,000
        rows.append((f"t{len(rows)}", f"{DAYS[d]} 10:{len(rows) % 60:02d}:00", src, dst, f"{cents / 100:.2f}",
                     "CNY", channel))
    return rows


def reference_sides(rows, subject, txn_ids):
    """Plain Python: what ``subject`` received and paid in the listed transactions, in
    cents (a self-transfer once, as paid)."""
    got = paid = 0
    for txn_id, _, src, dst, amount, _, _ in rows:
        if txn_id in txn_ids:
            cents = round(float(amount) * 100)
            if src == subject:
                paid += cents
            elif dst == subject:
                got += cents
    return got, paid


def large_value_side(hit, rows) -> str:
    """The side of its customer a large-value hit reports: a daily sum's direction; a
    single transaction's payee side when its subject is the payee."""
    if hit.typology == "large_value_daily":
        return hit.m_direction
    (src,) = [r[2] for r in rows if r[0] == hit.txn_ids[0]]
    return "out" if src == hit.subject else "in"


@given(st.lists(ring_day, min_size=1, max_size=6), st.lists(other, max_size=3))
@example(REPRO_DAYS, [])
def test_above_the_ceiling_one_way_means_a_large_value_hit_on_that_side(days, others):
    """On random small banks of persons (home currency): every structuring or "frequent"
    hit's A is the larger of what its subject received and paid in its evidence (checked
    against a plain-Python sum), and a hit above its ceiling has a large-value hit (single or
    daily) of its subject's customer on that side holding one of its transactions: the
    W(N, D) ceiling is at least D · Φ, so only a day whose receipts or payments reached Φ
    can take one side past it."""
    rows = bank_rows(days, others)
    if not rows:
        return
    hits = run_detectors(graph(rows, CUSTOMERS), ["structuring", "large_value"]).frame
    reports = hits[hits["typology"].isin(LARGE_VALUE)]
    for h in hits[hits["typology"].isin(ONE_SIDED)].itertuples():
        got, paid = reference_sides(rows, h.subject, set(h.txn_ids))
        assert (round(h.m_amount_in * 100), round(h.m_amount_out * 100)) == (got, paid)
        assert round(h.amount * 100) == max(got, paid)
        assert h.m_mean_amount == pytest.approx((got + paid) / 100 / len(h.txn_ids))
        if h.utilisation <= 1:
            continue
        side = "in" if got >= paid else "out"
        reported = [r for r in reports.itertuples() if r.customer == h.customer
                    and large_value_side(r, rows) == side and set(r.txn_ids) & set(h.txn_ids)]
        assert reported, (h.typology, h.subject, h.amount, h.ceiling, rows)


def test_the_invariant_fails_on_two_sided_sums():
    """What the property test guards: summed over both sides, the repro's A on P0 passes its
    ceiling with no large-value hit anywhere."""
    hits = run_detectors(graph(bank_rows(REPRO_DAYS, []), CUSTOMERS), ["structuring", "large_value"]).frame
    h = hits_on(hits, "P0")["structuring"]
    assert not hits["typology"].isin(LARGE_VALUE).any()
    assert h.utilisation < 1 < (h.m_amount_in + h.m_amount_out) / h.ceiling


def test_the_ceiling_is_at_least_one_phi_a_day():
    """Why one side past W(N, D) · Φ needs a large-value hit: W(N, D) >= D for every N >= 1
    (a day below Φ one way, D days below D · Φ), with equality at N = 1."""
    n, d = np.meshgrid(np.arange(1, 31), np.arange(1, 251))
    assert (W(n, d) >= d).all() and (W(np.ones(250, int), np.arange(1, 251)) == np.arange(1, 251)).all()
