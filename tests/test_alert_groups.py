"""Alerts against plain Python: grouping (flowgraph.alerts._groups) against a loop over
each unit's hits, scoring against a scorer that takes one alert at a time. Grouping:
within a unit, in order of (span start, id), a hit joins the open alert while it starts
by the alert's latest end and ends within ``alert_days`` of its start."""

import json

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flowgraph.alerts import FAMILIES, ModelConfig, _groups, build_alerts, hit_spans
from reference.alerts import build_alerts as reference_alerts
from reference.alerts import groups as reference_groups

hit = st.tuples(st.integers(0, 2), st.integers(0, 12), st.integers(0, 4))


@settings(max_examples=300, deadline=None)
@given(st.lists(hit, min_size=1, max_size=14), st.integers(0, 8))
@example([(0, 0, 2), (0, 2, 2), (0, 4, 2), (0, 3, 0)], 4)  # the chain 0-6 cut: {0-2, 2-4, 3-3}, {4-6}
def test_groups_match_a_plain_loop(hits, longest):
    unit = np.array([h[0] for h in hits])
    start = np.array([h[1] for h in hits], np.int64)
    end = start + np.array([h[2] for h in hits], np.int64)
    rank = np.arange(len(hits))
    label = _groups(unit, start, end, rank, longest)
    got = sorted(sorted(np.flatnonzero(label == g).tolist()) for g in np.unique(label))
    expected = reference_groups(unit.tolist(), start.tolist(), end.tolist(), rank.tolist(), longest)
    assert got == sorted(sorted(g) for g in expected)


# an alert's id hashes its customer's JSON text: customers whose JSON escapes quotes, holds
# '"], ["' (where a list of such texts written at once would be cut), a backslash, non-ASCII text
scored_hit = st.tuples(st.sampled_from(["c1", "c2", "", 'c"], ["3', "客户\\4"]), st.sampled_from(["a1", "a2", "a3"]),
                       st.sampled_from(sorted(FAMILIES)), st.integers(0, 8), st.integers(0, 3),
                       st.lists(st.sampled_from(["t1", "t2", "t3", "t4"]), max_size=2, unique=True),
                       st.booleans(), st.one_of(st.floats(0, 3), st.just(float("nan")), st.just(float("inf"))),
                st.one_of(st.floats(0, 1e9), st.just(float("nan"))),
                st.lists(st.sampled_from(["a1", "a2", "a3", "b1"]), max_size=3),
                st.sampled_from([0.0, 1.2, 4.0, float("nan")]), st.sampled_from([0.0, 5e5, 2e6, float("nan")]),
                st.sampled_from([None, {"hop_amounts": [4.5e5, 4.1e5]}, {"leg_amounts": [[1e4, 9e3], [2.1e6, 2e6]]},
                                 {"amount_in": 5.0}]))


@settings(max_examples=150, deadline=None)
@given(st.lists(scored_hit, min_size=1, max_size=14, unique_by=lambda h: h[:5]),
       st.dictionaries(st.sampled_from(sorted(FAMILIES)), st.sampled_from([0.0, 0.5, 1.0, 2.5])),
       st.sampled_from([0.0, 0.5, 1.0]), st.sampled_from([0.0, 0.5]), st.sampled_from([0.0, 0.3]),
       st.sampled_from([0.0, 1.0, -0.4]), st.sampled_from([1, 3, 92]), st.sampled_from([1, 13]),
       st.lists(st.integers(0, 12), min_size=14, max_size=14))
# a fan-in run cut where December ends (h00) goes on from 2027-01-05 (h01), in the alert a
# pass-through run reaching 2027-01-07 (h02) holds: h00's window end is not counted (two, not three)
@example([("c1", "a1", "fan_in", 4, 0, ["t1"], False, 1.0, 5e5, ["b1"], 1.2, 5e5, None),
          ("c1", "a1", "fan_in", 5, 0, ["t2"], False, 1.0, 5e5, ["b1"], 1.2, 5e5, None),
          ("c1", "a2", "pass_through", 4, 1, ["t3"], False, 1.0, 5e5, ["b1"], 1.2, 5e5, None)],
         {}, 1.0, 0.5, 0.3, 1.0, 92, 13, [0, 0, 8] + [0] * 11)
def test_alerts_match_a_plain_python_scorer(hits, weights, band_weight, utilisation_weight, amount_weight,
                                            reach_weight, alert_days, recurrence_weeks, run_extra):
    """Scores, explanations, contributions, members and ids of every alert, built with
    arrays, equal the model computed one alert at a time (band-only indicators, features
    of non-reportable hits only, runs that reach past a window, short alerts)."""
    day = pd.Timestamp("2026-12-01")
    frame = pd.DataFrame([{
        "hit_id": f"h{i:02d}", "customer": c, "subject": s, "typology": t,
        "window_start": day + pd.Timedelta(days=7 * d), "window_end": day + pd.Timedelta(days=7 * d + length),
        "run_first": day + pd.Timedelta(days=7 * d), "run_last": day + pd.Timedelta(days=7 * d + length + run_extra[i]),
        "txn_ids": txns, "in_band": band, "utilisation": u, "amount": a, "accounts": [s, *accts], "w": w,
        "ceiling": w * phi, "measures": json.dumps(m) if m is not None else None}
        for i, (c, s, t, d, length, txns, band, u, a, accts, w, phi, m) in enumerate(hits)])
    model = ModelConfig(weights=weights, band_weight=band_weight, utilisation_weight=utilisation_weight,
                        amount_weight=amount_weight, closeness_weight=2.0, families_weight=0.7, repetition_weight=0.4,
                        reach_weight=reach_weight, size_weight=0.6, alert_threshold=1.0, recurrence_weight=-0.5,
                        alert_days=alert_days, recurrence_weeks=recurrence_weeks)
    got, expected = build_alerts(frame, model, "cfg"), reference_alerts(frame, model, "cfg")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(scored_hit, min_size=2, max_size=14, unique_by=lambda h: h[:5]), st.integers(1, 13),
       st.integers(0, 8))
def test_earlier_hits_count_as_the_whole_would(hits, recurrence_weeks, split_week):
    """Alerts built from a unit's later hits with its earlier ones given as ``earlier``
    score as the same alerts built from all hits, when the earlier hits' alerts end
    before the later ones start (what a daily scan keeps in place)."""
    day = pd.Timestamp("2026-12-07")  # a Monday: 7-day steps stay in their weeks
    frame = pd.DataFrame([{
        "hit_id": f"h{i:02d}", "customer": c, "subject": s, "typology": t,
        "window_start": day + pd.Timedelta(days=7 * d), "window_end": day + pd.Timedelta(days=7 * d + length),
        "txn_ids": txns, "in_band": band, "utilisation": u, "amount": a, "accounts": [s, *accts], "w": w,
        "ceiling": w * phi, "measures": None}
        for i, (c, s, t, d, length, txns, band, u, a, accts, w, phi, _) in enumerate(hits)])
    model = ModelConfig(recurrence_weeks=recurrence_weeks, recurrence_weight=-0.7)
    whole = build_alerts(frame, model, "cfg")
    before = frame["window_start"] < day + pd.Timedelta(days=7 * split_week)
    settled = whole[whole["hit_ids"].map(lambda ids: all(before[frame["hit_id"].isin(ids)]))]
    settled_ids = {h for ids in settled["hit_ids"] for h in ids}
    later = frame[~frame["hit_id"].isin(settled_ids)]
    if later.empty:
        return
    part = build_alerts(later, model, "cfg", earlier=_last_days(frame[frame["hit_id"].isin(settled_ids)]))
    expected = whole[~whole["alert_id"].isin(settled["alert_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(part.reset_index(drop=True), expected, check_dtype=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["c1", "c2"]), st.integers(0, 30), st.integers(0, 12)), min_size=1,
                max_size=16),
       st.lists(st.tuples(st.sampled_from(["c1", "c2"]), st.integers(0, 12), st.integers(0, 6)), min_size=0,
                max_size=5),
       st.integers(0, 30), st.sampled_from([3, 8, 92]), st.sampled_from([1, 2]))
def test_a_daily_run_rebuilds_from_the_first_alert_its_hits_reach(old, new, first_day, alert_days, weeks):
    """What a T+1 run does (flowgraph.scan._alerts_from_store): a unit's stored alerts
    from the first one in sequence ending on or after the day its new hits start are
    rebuilt, with the hits of the alerts before as history; those before stay. Together
    they are the alerts of all hits at once — long hits and short alerts make alerts
    that nest."""
    from flowgraph.scan import _rebuilt_alerts

    day = pd.Timestamp("2026-01-05")
    rows = [(c, day + pd.Timedelta(days=d), day + pd.Timedelta(days=d + n)) for c, d, n in old]
    rows += [(c, day + pd.Timedelta(days=first_day + d), day + pd.Timedelta(days=first_day + d + n)) for c, d, n in new]
    frame = pd.DataFrame([{"hit_id": f"h{i:02d}", "customer": c, "subject": "a", "typology": "fan_in",
                           "window_start": s, "window_end": e, "txn_ids": [f"t{i}"], "in_band": False,
                           "utilisation": 0.5, "amount": 10.0, "accounts": ["a", "b"], "w": 1.0, "ceiling": 100.0}
                          for i, (c, s, e) in enumerate(rows)])
    model = ModelConfig(alert_days=alert_days, recurrence_weeks=weeks, recurrence_weight=-0.7)
    before, whole = build_alerts(frame.iloc[:len(old)], model, "cfg"), build_alerts(frame, model, "cfg")
    is_new = np.arange(len(frame)) >= len(old)
    first = frame[is_new].groupby("customer")["window_start"].min()
    stored = before.assign(unit=before["customer"])[["alert_id", "unit", "window_start", "window_end", "hit_ids"]]
    rebuilt, _ = _rebuilt_alerts(stored[stored["unit"].isin(first.index)], first)
    settled = before[~before["alert_id"].isin(rebuilt)]
    settled_ids = {h for ids in settled["hit_ids"] for h in ids}
    part = build_alerts(frame[~frame["hit_id"].isin(settled_ids)], model, "cfg",
                        earlier=_last_days(frame[frame["hit_id"].isin(settled_ids)]))
    got = pd.concat([settled, part]).sort_values("alert_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, whole.sort_values("alert_id").reset_index(drop=True), check_dtype=False)


def _last_days(hits: pd.DataFrame) -> pd.DataFrame:
    """Hits as ``earlier`` takes them: unit, typology and the last day of their span."""
    return hits[["customer", "subject", "typology"]].assign(last_day=pd.to_datetime(hit_spans(hits)[1]))


def test_a_run_cut_at_the_month_end_counts_once():
    """A run cut where its month ends (the detectors end runs with their month) and the
    run that goes on from it are one repetition: a run followed by the next run of its
    typology and subject starting in the next month, at most 12 calendar days on, is not
    counted, across the year's end too; one followed 14 days on is. Dates after today."""
    day = pd.Timestamp

    def hit(hit_id, typology, first, last):
        return {"hit_id": hit_id, "customer": "C1", "subject": "A1", "typology": typology, "txn_ids": [hit_id],
                "accounts": ["A1", "B1"], "window_start": day(first), "window_end": day(last),
                "run_first": day(first), "run_last": day(last)}

    hits = pd.DataFrame([hit("h5", "fan_out", "2026-12-08", "2026-12-19"),
                         hit("h1", "fan_in", "2026-12-18", "2026-12-31"),
                         hit("h3", "pass_through", "2026-12-28", "2027-01-06"),
                         hit("h6", "fan_out", "2027-01-02", "2027-01-09"),  # 14 days after h5: counted
                         hit("h2", "fan_in", "2027-01-04", "2027-01-12")]  # goes on from h1: h1 not counted
                        ).assign(amount=100.0, utilisation=0.1, in_band=False, w=1.0, ceiling=1000.0)
    model = ModelConfig(alert_days=92)
    got = build_alerts(hits, model, "cfg")
    assert got["n_hits"].tolist() == [5]
    features = {f["feature"]: f["value"] for f in json.loads(got["explanation"].iloc[0])["features"]}
    assert features["repetition"] == 2.0  # the window ends of h5, h3, h6 and h2: four
    pd.testing.assert_frame_equal(got, reference_alerts(hits, model, "cfg"), check_dtype=False)
