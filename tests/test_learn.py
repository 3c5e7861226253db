"""`flowgraph learn`: weights fitted from dispositions (flowgraph.learn)."""

import dataclasses
import tomllib

import numpy as np
import pandas as pd
import pytest

from flowgraph.alerts import FEATURES, ModelConfig, alert_inputs, score_alerts
from flowgraph.cli import main
from flowgraph.learn import fit_weights
from flowgraph.scan import run_scan
from flowgraph.scan_config import load_config
from flowgraph.simulate import simulate, write_simulation
from flowgraph.store import Store

#: A bank's current configuration before learning: hand-set weights (the model flowgraph
#: shipped before its weights were fitted), with a comment and another key to keep.
HAND_SET = """# our bank's monitoring configuration
chunk_days = 7

[model]
alert_threshold = 1.0
utilisation_weight = 0.5

[model.weights]
fan_in = 0.2
fan_out = 0.2
dispersed_in_concentrated_out = 0.8
concentrated_in_dispersed_out = 0.8
frequent_daily = 0.3
frequent_consecutive = 0.3
large_value_daily = 0.0
bipartite = 1.0
stack = 1.0
pass_through = 1.0
pass_through_chain = 1.5
forwarding_chain = 1.0
cycle = 1.0
scatter_gather = 1.0
gather_scatter = 0.8
structuring = 1.0
structuring_daily = 1.0
"""


def test_fit_recovers_the_sign_and_order_of_weights():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (400, 3))
    y = rng.uniform(size=400) < 1 / (1 + np.exp(-(4 * X[:, 0] + 1 * X[:, 1] - 2.5)))
    fit = fit_weights(X, y, ["strong", "weak", "useless"])
    assert fit.weights["strong"] > fit.weights["weak"] > fit.weights["useless"] >= 0
    assert fit.intercept < 0 and fit.cv_log_loss < fit.base_log_loss and fit.folds == 5


def _bank(tmp_path, seed):
    bank = simulate(seed=seed, n_customers=900, n_days=25, patterns_per_typology=3, lookalikes_per_kind=3,
                    recruit_pool_share=0.4)
    folder = tmp_path / f"bank{seed}"
    write_simulation(bank, folder)
    customer = dict(zip(bank.accounts["account_id"], bank.accounts["customer_id"]))
    laundering = {customer.get(a) for accounts, behaviour in zip(bank.patterns["accounts"], bank.patterns["behaviour"])
                  if behaviour != "lookalike" for a in accounts}
    return folder, laundering


def _f1(alerts: pd.DataFrame, laundering: set) -> float:
    truth = alerts["customer"].isin(laundering)
    tp = int((alerts["raised"] & truth).sum())
    return 2 * tp / (int(alerts["raised"].sum()) + int(truth.sum()))


def test_learn_from_simulated_dispositions_beats_the_current_model_on_a_held_out_seed(tmp_path, capsys):
    current = tmp_path / "current.toml"
    current.write_text(HAND_SET)
    folder, laundering = _bank(tmp_path, 31)
    store = tmp_path / "store.sqlite"
    result = run_scan(folder, tmp_path / "out", load_config(current), store_path=store, progress=False,
                      reveal_ids=True)
    too_few = tmp_path / "early.toml"
    assert main(["learn", "--store", str(store), "--config", str(current), "--out", str(too_few)]) == 3
    assert "0 decided alert(s)" in capsys.readouterr().err and not too_few.exists()
    analyst = Store(store)
    for alert_id, customer in zip(result.alerts["alert_id"], result.alerts["customer"]):
        analyst.dispose(alert_id, "case" if customer in laundering else "excluded", "ground.truth", force=True)
    stored_before = Store(store).alerts()
    new = tmp_path / "learned.toml"
    assert main(["learn", "--store", str(store), "--config", str(current), "--out", str(new)]) == 0
    out, err = capsys.readouterr()
    assert "warning" not in err and f"scan with --config {new} to use it" in out  # decisions the features explain
    assert "model diff (current -> learned):" in out and "utilisation_weight: 0.5 -> " in out
    assert "precision" in out and "recall" in out and "newly raised" in out
    text = new.read_text()
    assert text.startswith("# our bank's monitoring configuration\nchunk_days = 7\n")  # the rest is kept
    assert f"from {store}" in text and f"{len(result.alerts)} decided alerts" in text and "CV" in text
    assert tomllib.loads(text)["chunk_days"] == 7 and text.count("\n[model]\n") == 1
    backtest = pd.read_csv(tmp_path / "learned.toml.backtest.csv")
    assert len(backtest) == len(result.alerts) and {"raised_before", "raised_after"} <= set(backtest.columns)
    # nothing changed in the store or the current configuration
    assert current.read_text() == HAND_SET
    pd.testing.assert_frame_equal(Store(store).alerts(), stored_before)
    learned = load_config(new).model
    assert all(learned.weights[n] >= 0 for n in learned.weights) and learned.feature_weights().keys() == set(FEATURES)
    # an indicator no decided alert has keeps its weight: the fit's 0 silenced it in later scans
    kept = next(line for line in out.splitlines() if line.startswith("kept (no decided alert has them): "))
    kept = kept.split(": ", 1)[1].split(", ")
    assert "trafficking_remittance" in kept and "fan_in" not in kept
    assert all(learned.weights[n] == load_config(current).model.weights[n] for n in kept)
    # a configuration that differs in more than what learn fits: its alerts were never these (found by a sweep)
    for name, extra in (("scaled", '\n[rule_set]\nbased_on = "PBOC-2016"\nscale = 1e-12\n'),
                        ("regrouped", "")):
        other = tmp_path / f"{name}.toml"
        other.write_text(HAND_SET.replace("[model]\n", "[model]\nalert_days = 10\n") if name == "regrouped"
                         else HAND_SET + extra)
        assert main(["learn", "--store", str(store), "--config", str(other), "--out", str(tmp_path / "x.toml")]) == 2
        err = capsys.readouterr().err
        assert ("model.alert_days" if name == "regrouped" else "rule_set") in err and "not only in what learn fits" in err
    assert not (tmp_path / "x.toml").exists()
    # an alert that grew after its decision (its window as decided ended a day earlier) is
    # left out until decided again: the decision labels what the analyst saw
    grown = result.alerts["alert_id"].iloc[0]
    with analyst.transaction() as c:
        c.execute("UPDATE dispositions SET decided_window_end = date(decided_window_end, '-1 day') "
                  "WHERE alert_id = ?", (grown,))
    assert main(["learn", "--store", str(store), "--config", str(current), "--out", str(tmp_path / "r.toml")]) == 0
    out = capsys.readouterr().out
    assert f"learned from {len(result.alerts) - 1} decided alerts" in out
    assert "; 1 reopened alert(s) left out until decided again" in out

    held_out, truth = _bank(tmp_path, 32)
    hits = run_scan(held_out, tmp_path / "held_out", load_config(current), store_path=tmp_path / "h.sqlite",
                    progress=False, reveal_ids=True).hits
    inputs = alert_inputs(hits, learned, "held-out")
    before, after = (_f1(score_alerts(inputs, m), truth) for m in (load_config(current).model, learned))
    assert after > before
    shipped = _f1(score_alerts(inputs, ModelConfig()), truth)
    assert after >= shipped - 0.05  # about as good as the shipped default, fitted on other seeds


def test_learn_refuses_to_overwrite_the_current_configuration(tmp_path, capsys):
    current = tmp_path / "c.toml"
    current.write_text(HAND_SET)
    store = tmp_path / "s.sqlite"
    Store(store)
    assert main(["learn", "--store", str(store), "--config", str(current), "--out", str(current)]) == 2
    assert "never changes it" in capsys.readouterr().err
    assert main(["learn", "--store", str(store), "--out", str(tmp_path / "n.toml")]) == 3
    assert "no complete scan run" in capsys.readouterr().err


def test_signed_columns_may_weigh_below_zero_and_others_may_not():
    """A column named in ``signed`` recovers a negative weight; the same column unsigned
    is held at 0 (no indicator lowers a score)."""
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (400, 2))
    y = rng.uniform(size=400) < 1 / (1 + np.exp(-(3 * X[:, 0] - 3 * X[:, 1])))
    assert fit_weights(X, y, ["up", "down"], signed=("down",)).weights["down"] < -1
    assert fit_weights(X, y, ["up", "down"]).weights["down"] == 0.0


def _scan_file(tmp_path, name: str, rows: list[str], store, config=None) -> None:
    """Scan a hand-written file of ``rows`` (after the header) into the run store ``store``."""
    path = tmp_path / f"{name}.csv"
    path.write_text("txn_id,timestamp,src_account,dst_account,amount,currency,channel\n" + "\n".join(rows) + "\n")
    assert main(["scan", str(path), "--out", str(tmp_path / name), "--store", str(store),
                 *(["--config", str(config)] if config else [])]) == 0


#: Two small transfers: no detector finds anything in them.
QUIET = ["q1,2026-12-01T10:00:00,A,B,100,CNY,transfer", "q2,2026-12-02T10:00:00,B,C,120,CNY,transfer"]


def test_learn_on_a_store_without_hits_says_how_to_get_decided_alerts(tmp_path, capsys):
    store = tmp_path / "store.sqlite"
    _scan_file(tmp_path, "quiet", QUIET, store)
    capsys.readouterr()
    assert main(["learn", "--store", str(store), "--out", str(tmp_path / "new.toml")]) == 3
    err = capsys.readouterr().err
    assert f"{store}: the latest run's configuration" in err and "has no hits" in err
    assert "Fix: scan data in which the detectors find hits" in err
    assert f"flowgraph dispose ALERT_ID --store {store} --as case|reported|excluded --analyst NAME" in err
    assert "Traceback" not in err and not (tmp_path / "new.toml").exists()


def test_learn_on_a_store_whose_decisions_are_of_another_configuration_names_it(tmp_path, capsys):
    """Decisions on the alerts of one configuration, then a scan under another that finds
    nothing: learn points back at the configuration the decisions were made under."""
    store = tmp_path / "store.sqlite"
    _scan_file(tmp_path, "cash", ["c1,2026-12-01T10:00:00,A,B,60000,CNY,cash"], store)
    alert_id = Store(store, create=False).query("SELECT alert_id FROM alerts")["alert_id"][0]
    assert main(["dispose", alert_id, "--store", str(store), "--as", "excluded", "--analyst", "eve", "--force"]) == 0
    other = tmp_path / "other.toml"
    other.write_text("[model]\nalert_threshold = 9.0\n")
    _scan_file(tmp_path, "quiet", QUIET, store, other)
    capsys.readouterr()
    assert main(["learn", "--store", str(store), "--config", str(other), "--out", str(tmp_path / "new.toml")]) == 3
    err = capsys.readouterr().err
    assert "has no hits" in err and "The store's 1 decision(s) are on alerts it does not find" in err
    assert "Fix: scan again with the configuration they were made under (its --config), then learn." in err


def test_learn_builds_alerts_bucket_by_bucket_as_from_every_hit_at_once(amlsim_dir, tmp_path, capsys, monkeypatch):
    """On AMLSim data: learn holds one bucket of customers' hits at a time (10 GB for 2.2 M
    hits held at once), and its alerts, fit and backtest are those of every hit at once."""
    import flowgraph.learn

    config, run = tmp_path / "amlsim.toml", tmp_path / "run"
    config.write_text('[rule_set]\nbased_on = "PBOC-2016"\nscale = 0.001\n\n[detectors.fan]\n'
                      'min_amount_fraction = 4e-06\n')
    assert main(["scan", str(amlsim_dir / "20K_fanin200"), "--config", str(config), "--out", str(run),
                 "--to", "2018-02-15"]) == 0
    store = Store(run / "store.sqlite")
    config_hash = store.query("SELECT config_hash FROM runs")["config_hash"].iloc[0]
    raised = store.query("SELECT alert_id FROM alerts WHERE raised = 1 ORDER BY score DESC, alert_id")["alert_id"]
    assert len(raised) >= 40
    for k, alert_id in enumerate(raised[:40]):
        store.dispose(alert_id, ("excluded", "case")[k % 3 == 0], "ana")
    model = load_config(config).model
    hits = store.hits(config_hash)
    whole = alert_inputs(hits, model, config_hash)
    n_units = hits["customer"].where(hits["customer"] != "", hits["subject"]).nunique()
    outputs = []
    for per_bucket in (10**9, 300):
        monkeypatch.setattr(flowgraph.learn, "HITS_PER_BUCKET", per_bucket)
        inputs = flowgraph.learn._alerts(store, model, config_hash)
        pd.testing.assert_frame_equal(inputs.frame, whole.frame)
        X, names = inputs.design()
        Y, whole_names = whole.design()
        assert names == whole_names and np.array_equal(X, Y) and np.array_equal(inputs.hits, whole.hits)
        out = tmp_path / f"learned-{per_bucket}.toml"
        assert main(["learn", "--store", str(run / "store.sqlite"), "--config", str(config), "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        assert "learned from 40 decided alerts" in printed
        outputs.append(([line for line in out.read_text().splitlines() if "learned by `flowgraph learn` at" not in line],
                        (tmp_path / f"learned-{per_bucket}.toml.backtest.csv").read_text()))
    assert len(hits) // 300 >= 10 and n_units > 10  # many buckets
    assert outputs[0] == outputs[1]

    # a fit no better than the base rate is written with a warning, and not offered for use
    fit_weights = flowgraph.learn.fit_weights
    monkeypatch.setattr(flowgraph.learn, "fit_weights", lambda *a, **k: dataclasses.replace(
        fit := fit_weights(*a, **k), cv_log_loss=fit.base_log_loss))
    noise = tmp_path / "noise.toml"
    assert main(["learn", "--store", str(run / "store.sqlite"), "--config", str(config), "--out", str(noise)]) == 0
    captured = capsys.readouterr()
    assert "not to be used" in captured.out and "to use it" not in captured.out
    assert "warning: the learned model predicts held-out decisions no better than their base rate" in captured.err
    assert "# WARNING: the learned model predicts" in noise.read_text()


def test_alert_inputs_of_parts_with_other_typologies_have_every_column():
    """A part without hits of a typology another part has (e.g. one stored by an older
    version) still gets its column, so the parts stack (flowgraph.learn builds alerts by parts)."""
    from flowgraph.alerts import concat_inputs

    hits = pd.DataFrame({"hit_id": ["h1", "h2"], "customer": ["C1", "C2"], "subject": ["A1", "A2"],
                         "typology": ["fan_in", "old_kind"], "in_band": [False, False],
                         "window_start": pd.to_datetime(["2018-01-02", "2018-01-03"]),
                         "window_end": pd.to_datetime(["2018-01-04", "2018-01-05"]),
                         "utilisation": [0.5, 0.7], "amount": [1000.0, 2000.0], "w": [1.0, 1.0],
                         "ceiling": [2000.0, 2000.0], "accounts": [["A1", "B1"], ["A2"]], "txn_ids": [["t1"], ["t2"]],
                         "detector": ["fan", "old"]})
    model = ModelConfig()
    whole = alert_inputs(hits, model, "h")
    parts = [alert_inputs(hits.iloc[[k]].reset_index(drop=True), model, "h", typologies=["old_kind"]) for k in (0, 1)]
    both = concat_inputs(parts)
    assert "old_kind" in both.indicators.tolist()
    assert np.array_equal(both.design()[0], whole.design()[0]) and both.design()[1] == whole.design()[1]
    pd.testing.assert_frame_equal(both.frame, whole.frame)
    with pytest.raises(ValueError, match="typologies"):
        concat_inputs([alert_inputs(hits.iloc[[k]].reset_index(drop=True), model, "h") for k in (0, 1)])
