"""The alert model: grouping, features, contributions, ties (flowgraph.alerts)."""

import dataclasses
import json
import math

import pandas as pd
import pyarrow as pa
import pytest

from flowgraph.alerts import ModelConfig, build_alerts
from flowgraph.errors import ConfigError


def test_alert_grouping_and_explanation():
    day = pd.Timestamp
    hits = pd.DataFrame([
        {"hit_id": "h1", "customer": "C1", "subject": "A1", "typology": "pass_through", "txn_ids": ["t1", "t2"],
         "window_start": day("2024-09-02"), "window_end": day("2024-09-04"), "utilisation": 0.4, "in_band": False},
        {"hit_id": "h2", "customer": "C1", "subject": "A2", "typology": "fan_in", "txn_ids": ["t9"],
         "window_start": day("2024-09-03"), "window_end": day("2024-09-12"), "utilisation": 0.1, "in_band": False},
        {"hit_id": "h3", "customer": "C1", "subject": "A1", "typology": "structuring", "txn_ids": ["t50"],
         "window_start": day("2024-10-20"), "window_end": day("2024-10-25"), "utilisation": 0.9, "in_band": True},
        {"hit_id": "h4", "customer": "", "subject": "X", "typology": "fan_out", "txn_ids": ["t1"],
         "window_start": day("2024-09-02"), "window_end": day("2024-09-02"), "utilisation": 0.0, "in_band": False},
    ]).assign(amount=999.0, accounts=[["A1", "B1"], ["A2", "B1", "B2", "B3"], ["A1"], ["X", "Y"]],
              w=[1.0, 1.0, 1.0, 0.0], ceiling=[1110.0, 5000.0, 999.0, 0.0])
    model = ModelConfig(weights={"pass_through": 1.0, "fan_in": 0.2, "structuring": 1.0, "fan_out": 0.2},
                        utilisation_weight=0.5, closeness_weight=2.0, amount_weight=0.1, families_weight=0.3,
                        repetition_weight=0.2, reach_weight=0.1, size_weight=0.5, recurrence_weight=-0.4,
                        alert_threshold=1.0)
    alerts = build_alerts(hits, model, "cfg")
    assert len(alerts) == 3  # C1's overlapping hits merge; the October one stands alone; X by account
    merged = alerts[alerts["n_hits"] == 2].iloc[0]
    explanation = json.loads(merged["explanation"])
    assert {i["indicator"]: i["contribution"] for i in explanation["indicators"]} == {"pass_through": 1.0,
                                                                                      "fan_in": 0.2}
    features = {f["feature"]: (f["value"], f["contribution"]) for f in explanation["features"]}
    # log2(1 + u) of its best hit; h1 moved 999 in 2 transactions under Φ = 1110: 0.45 Φ each, below the
    # band; log10(1 + 999) = 3; two families; windows end on two days; accounts A1 A2 B1 B2 B3
    u_value = round(math.log2(1.4), 6)
    assert features["utilisation"] == (u_value, round(0.5 * u_value, 6)) and features["amount"] == (3.0, 0.3)
    assert features["closeness"] == (0.0, 0.0)
    assert features["families"] == (1.0, 0.3) and features["repetition"] == (1.0, 0.2)
    assert features["reach"][0] == pytest.approx(math.log2(5), abs=1e-6)
    # size: the larger share, h1's 999 / 2 / 1110 = 0.45 (h2's 999 / 5000 is smaller): 2 + log10(0.45)
    size = 2 + math.log10(0.45)
    assert features["size"][0] == pytest.approx(size, abs=1e-6)
    contributions = json.loads(merged["contributions"])
    assert merged["score"] == pytest.approx(sum(contributions.values()))
    # recurrence: only weeks before the alert count; C1's other hit (h3) ends later, on Oct 25
    assert features["recurrence"] == (0.0, 0.0)
    assert merged["score"] == pytest.approx(1.2 + 0.5 * math.log2(1.4) + 0.3 + 0.3 + 0.2 + 0.1 * math.log2(5)
                                            + 0.5 * size, abs=1e-5)
    assert merged["raised"] and json.loads(merged["explanation"])["utilisation"] == 0.4
    band_only = alerts[alerts["hit_ids"].map(lambda h: h == ["h3"])].iloc[0]
    assert json.loads(band_only["contributions"])["structuring"] == 0.5  # the tolerance band halves the indicator
    # one transaction of 999 at Φ = 999 is reported, not near the threshold; W = 0 gives none
    assert json.loads(band_only["contributions"])["closeness"] == 0.0
    # C1's September hits end in two earlier weeks (Sep 2-8 and Sep 9-15), 5 and 6 weeks before h3's
    # (Oct 14-20); X has no other hit
    assert json.loads(band_only["contributions"])["recurrence"] == round(-0.4 * math.log2(3), 6)
    for weeks, seen in ((5, 1), (4, 0)):  # a horizon of 5 weeks reaches back to Sep 9-15 only
        short = build_alerts(hits, dataclasses.replace(model, recurrence_weeks=weeks), "cfg")
        october = short[short["hit_ids"].map(lambda h: h == ["h3"])].iloc[0]
        assert json.loads(october["contributions"])["recurrence"] == round(-0.4 * math.log2(1 + seen), 6)
    lone = alerts[alerts["subject"] == "X"].iloc[0]
    # W = 0: no share of Φ, so no closeness and no size
    assert lone["score"] == pytest.approx(0.2 + 0.3 + 0.1) and not lone["raised"]  # fan-out alone stays below
    assert list(alerts["score"]) == sorted(alerts["score"], reverse=True)
    # ids are stable when a later hit joins the group
    more = pd.concat([hits, pd.DataFrame([{**hits.iloc[0].to_dict(), "hit_id": "h5", "txn_ids": ["t2", "t3"],
                                          "window_start": day("2024-09-04"), "window_end": day("2024-09-06")}])])
    assert set(build_alerts(more, model, "cfg")["alert_id"]) == set(build_alerts(hits, model, "cfg")["alert_id"])


def test_a_routine_that_never_stops_is_an_alert_per_period():
    """A hub whose weekly 10-day fan hits overlap for a year is not one alert of the whole
    year: a hit that would end more than ``alert_days`` after the open alert's start opens
    the next alert; a run reaching past its window joins what its run overlaps."""
    monday = pd.Timestamp("2025-01-06")
    hits = pd.DataFrame([{"hit_id": f"h{k:02d}", "customer": "C1", "subject": "A1", "typology": "fan_in",
                          "txn_ids": [f"t{k}"], "accounts": ["A1", "B1"],
                          "window_start": monday + pd.Timedelta(weeks=k),
                          "window_end": monday + pd.Timedelta(weeks=k, days=9)} for k in range(52)]).assign(
        amount=100.0, utilisation=0.1, in_band=False, w=1.0, ceiling=1000.0)
    alerts = build_alerts(hits, ModelConfig(alert_days=92), "cfg").sort_values("window_start")
    # each alert: the hits k = 0 .. 11 after its first, whose windows end 7 k + 9 <= 92 days after its start
    assert alerts["n_hits"].tolist() == [12, 12, 12, 12, 4]
    assert ((alerts["window_end"] - alerts["window_start"]).dt.days.iloc[:4] == 11 * 7 + 9).all()
    assert alerts["hit_ids"].iloc[1][0] == "h12"
    assert len(build_alerts(hits, ModelConfig(alert_days=400), "cfg")) == 1
    # two hits whose windows are apart but whose run goes on: one alert
    apart = hits.iloc[[0, 3]].assign(run_first=lambda h: h["window_start"], run_last=lambda h: h["window_end"])
    assert len(build_alerts(apart, ModelConfig(), "cfg")) == 2
    apart.loc[apart.index[0], "run_last"] = monday + pd.Timedelta(weeks=3)
    assert build_alerts(apart, ModelConfig(), "cfg")["n_hits"].tolist() == [2]


def test_large_value_hits_feed_no_feature():
    """A reportable fact joins the alert but adds no amount, reach or utilisation."""
    day = pd.Timestamp("2024-09-02")
    hits = pd.DataFrame([
        {"hit_id": "h1", "customer": "C1", "subject": "A1", "typology": "fan_in", "txn_ids": ["t1"],
         "accounts": ["A1", "B1"], "amount": 9.0, "utilisation": 0.2, "ceiling": 10.0},
        {"hit_id": "h2", "customer": "C1", "subject": "A1", "typology": "large_value_single", "txn_ids": ["t1"],
         "accounts": ["A1", "B1", "B2", "B3"], "amount": 9e6, "utilisation": 5.0, "ceiling": 9.5e6}]).assign(
        window_start=day, window_end=day, in_band=False, w=1.0)
    alert = build_alerts(hits, ModelConfig(), "cfg").iloc[0]
    features = {f["feature"]: f["value"] for f in json.loads(alert["explanation"])["features"]}
    assert alert["n_hits"] == 2
    # 9 in one transaction under Φ = 10: half way into the band [8, 10)
    assert features == {"utilisation": round(math.log2(1.2), 6), "closeness": 0.5, "amount": 1.0, "families": 0.0,
                        "repetition": 0.0, "reach": 1.0, "size": round(2 + math.log10(0.9), 6), "recurrence": 0.0}


@pytest.mark.parametrize("arrow", [False, True])
def test_reach_counts_the_distinct_counterparties_of_counted_hits_only(arrow):
    """Reach: the distinct accounts the alert's counted hits list, across its hits. A
    reportable hit's accounts (a day's large-value report) and an account-opening hit's are
    not looked at, whether the lists are Python lists or an Arrow list column (as a scan's
    hits hold them)."""
    day = pd.Timestamp("2024-09-02")
    accounts = [["A1", "B1"], ["A1", "B2", "B3", "B4", "B5", "B6"], ["A1", "B1", "B7"], ["A1", "A8", "A9"]]
    hits = pd.DataFrame({
        "hit_id": ["h1", "h2", "h3", "h4"], "customer": "C1", "subject": "A1",
        "typology": ["fan_in", "large_value_daily", "pass_through", "trafficking_many_accounts"],
        "txn_ids": [["t1"], ["t2"], ["t3"], []], "accounts": accounts, "amount": 9.0, "utilisation": 0.2,
        "ceiling": 10.0}).assign(window_start=day, window_end=day, in_band=False, w=1.0)
    if arrow:
        hits["accounts"] = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(accounts, pa.list_(pa.string()))))
    alert = build_alerts(hits, ModelConfig(), "cfg").iloc[0]
    features = {f["feature"]: f["value"] for f in json.loads(alert["explanation"])["features"]}
    assert alert["n_hits"] == 4
    assert features["reach"] == round(math.log2(3), 6)  # A1, B1, B7


def test_ties_are_rare_and_broken_by_id():
    """Alerts with the same indicators but different utilisation, amount and reach score
    apart; exact ties (identical features) are ordered by alert id."""
    day = pd.Timestamp("2024-09-02")
    rows = [{"hit_id": f"h{k}", "customer": f"C{k}", "subject": f"A{k}", "typology": "pass_through",
             "txn_ids": [f"t{k}"], "accounts": [f"A{k}", *[f"B{j}" for j in range(k % 4)]],
             "amount": 1000.0 * (1 + k % 3), "utilisation": 0.5 + 0.01 * (k % 5)} for k in range(12)]
    alerts = build_alerts(pd.DataFrame(rows).assign(window_start=day, window_end=day, in_band=False, w=1.0,
                                                    ceiling=3500.0),
                          ModelConfig(amount_weight=0.1, reach_weight=0.1), "cfg")
    assert alerts["score"].nunique() > 6
    for _, tied in alerts.groupby("score"):
        assert list(tied["alert_id"]) == sorted(tied["alert_id"])
    assert alerts["score"].is_monotonic_decreasing


def _one_hit(typology="forwarding_chain", **fields):
    day = pd.Timestamp("2024-09-02")
    row = {"hit_id": "h1", "customer": "C1", "subject": "A1", "typology": typology, "txn_ids": ["t1", "t2", "t3"],
           "accounts": ["A0", "A1", "A2", "A3"], "window_start": day, "window_end": day, "in_band": False,
           "utilisation": 0.1, "amount": 300.0, "w": 2.0, "ceiling": 2000.0, "measures": "{}", **fields}
    return pd.DataFrame([row])


def _features(hits, **model):
    alert = build_alerts(hits, ModelConfig(**model), "cfg").iloc[0]
    return {f["feature"]: f for f in json.loads(alert["explanation"])["features"]}, alert


def test_closeness_and_size_use_the_largest_listed_transaction():
    """A chain listing its hops is measured by its largest hop (the first, before the
    fees), not by the amount that reached its end spread over its transactions."""
    hops = json.dumps({"hop_amounts": [900.0, 850.0, 300.0]})  # Φ = 2000 / 2 = 1000: the largest hop is 0.9 Φ
    listed, _ = _features(_one_hit(measures=hops))
    assert listed["closeness"]["value"] == pytest.approx(0.5) and listed["size"]["value"] == pytest.approx(
        2 + math.log10(0.9), abs=1e-6)
    legs = json.dumps({"leg_amounts": [[100.0, 95.0], [990.0, 960.0]]})
    assert _features(_one_hit(typology="bipartite", measures=legs))[0]["closeness"]["value"] == pytest.approx(0.95)
    # without a list: 300 over 3 transactions = 0.1 Φ, below the band; size 2 + log10(0.1) = 1
    mean, _ = _features(_one_hit())
    assert mean["closeness"]["value"] == 0.0 and mean["size"]["value"] == pytest.approx(1.0)
    # at 1 % of Φ or less, size is 0
    assert _features(_one_hit(amount=15.0))[0]["size"]["value"] == 0.0


def test_size_tells_a_payroll_from_a_mule():
    """A pass-through of many small payments (a payroll: 30 salaries, 3 % of Φ each)
    scores below one of a few payments near Φ, every other feature alike."""
    payroll = _one_hit("pass_through", txn_ids=[f"t{k}" for k in range(30)], amount=900.0)
    mule = _one_hit("pass_through", txn_ids=["t1", "t2"], amount=1700.0)  # 0.85 Φ each
    (p, p_alert), (m, m_alert) = _features(payroll), _features(mule)
    assert p["size"]["value"] == pytest.approx(2 + math.log10(0.03), abs=1e-6)
    assert m["size"]["value"] == pytest.approx(2 + math.log10(0.85), abs=1e-6)
    assert m_alert["score"] - p_alert["score"] == pytest.approx(
        ModelConfig().size_weight * math.log10(0.85 / 0.03) + ModelConfig().closeness_weight * 0.25, abs=1e-5)


def test_signed_features_lower_a_score_and_say_so():
    """A negative repetition or reach weight lowers the score by its contribution, which
    the explanation lists; indicator and other feature weights stay >= 0."""
    day = pd.Timestamp("2024-09-02")
    busy = pd.concat([_one_hit("pass_through", hit_id=f"h{k}", txn_ids=[f"t{k}"], accounts=[f"A{k}", f"B{k}"],
                               window_start=day, window_end=day + pd.Timedelta(days=k))
                      for k in range(4)])  # overlapping windows (one alert) ending on 4 days; 8 accounts
    features, alert = _features(busy, repetition_weight=-1.0, reach_weight=-0.5)
    assert features["repetition"]["value"] == 2.0 and features["repetition"]["contribution"] == -2.0
    assert features["reach"]["value"] == 3.0 and features["reach"]["contribution"] == -1.5
    assert alert["score"] == pytest.approx(sum(json.loads(alert["contributions"]).values()), abs=1e-6)
    for name in ("amount_weight", "size_weight", "closeness_weight", "utilisation_weight", "families_weight"):
        with pytest.raises(ConfigError, match=name):
            ModelConfig(**{name: -0.1})


def test_reach_counts_counterparties_not_the_customers_own_accounts():
    """An account-opening hit lists the customer's own accounts: they are not its reach, so
    a ring of many accounts is not scored down as a business with many counterparts."""
    accounts = [f"A{k}" for k in range(9)]
    own, _ = _features(_one_hit("trafficking_many_accounts", accounts=accounts, txn_ids=[]))
    flows, _ = _features(_one_hit("fan_in", accounts=accounts))
    assert own["reach"]["value"] == 0.0 and own["reach"]["contribution"] == 0.0
    assert flows["reach"]["value"] == round(math.log2(9), 6)
