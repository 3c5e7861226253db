"""Learning the alert model's weights from analysts' dispositions (004 ch.5: dynamic
optimisation from results).

The model (:mod:`flowgraph.alerts`) scores an alert with Σ weight × feature, the log-odds
of a logistic regression without its intercept. :func:`fit_weights` fits that regression:
an L2-regularised logistic loss, minimised with scipy's L-BFGS-B under the bound weight ≥ 0
(so no indicator lowers a score, as in the shipped model) but for the features that may
lower one (:data:`flowgraph.alerts.SIGNED_FEATURES`), the intercept free; the
regularisation strength is chosen by k-fold cross-validation. The alert threshold becomes
minus the intercept: an alert is raised when the fitted probability reaches 0.5.

:func:`learn` reads a run store: the alerts of its latest complete configuration are
rebuilt from the stored hits (same ids; bucket by bucket of customers,
:mod:`flowgraph.buckets`), labelled by their latest disposition (case or reported:
positive; excluded: negative), fitted, and backtested. It writes a new
configuration file and changes nothing else: the new weights apply when the user scans
with that file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from scipy.optimize import minimize

from ._spreadsheet import spreadsheet_safe
from .alerts import FEATURES, SIGNED_FEATURES, AlertInputs, ModelConfig, alert_inputs, concat_inputs, score_alerts
from .buckets import HITS_PER_BUCKET, unit_buckets
from .errors import ConfigError, DataError
from .scan_config import load_config
from .desk.evidence import run_config
from .desk.queue import reopened_alert_ids
from .store import Store

#: Fewest decided alerts ``learn`` fits from, and fewest of each class: below these a
#: cross-validated fit says more about the split than about the bank.
MIN_DISPOSITIONS = 30
MIN_PER_CLASS = 5
#: L2 strengths tried by cross-validation (penalty λ/2 · ||w||² on the mean log loss).
L2_GRID = (0.001, 0.01, 0.1)
CV_FOLDS = 5
POSITIVE = ("case", "reported")
#: What learn says of a fit no better than the base rate (:attr:`Fit.no_better_than_base`).
NO_BETTER_THAN_BASE = ("the learned model predicts held-out decisions no better than their base rate (cross-validated "
                       "log loss at or above the base rate's): the decided alerts do not separate by the model's "
                       "features, so these weights are noise. Fix: keep scanning with the current configuration, "
                       "decide more alerts (of both outcomes), then learn again.")


@dataclass(frozen=True)
class Fit:
    """A fitted model: ``weights`` (column name -> weight, ≥ 0 unless signed), ``intercept``, the chosen
    ``l2`` and its mean log loss over ``folds`` cross-validation folds, ``cv_log_loss``
    (and that of a model predicting the base rate, ``base_log_loss``)."""

    folds: int
    weights: dict
    intercept: float
    l2: float
    cv_log_loss: float
    base_log_loss: float

    @property
    def no_better_than_base(self) -> bool:
        """The fit predicts held-out decisions no better than their base rate does: the
        decisions do not separate by the model's features (too few, or labelled by
        something the model does not see), and the fitted weights are noise."""
        return self.cv_log_loss >= self.base_log_loss


def _log_loss(X: np.ndarray, y: np.ndarray, sw: np.ndarray, w: np.ndarray, b: float) -> float:
    z = X @ w + b
    return float(np.sum(sw * (np.logaddexp(0.0, z) - y * z)) / sw.sum())


def _fit_once(X: np.ndarray, y: np.ndarray, sw: np.ndarray, l2: float,
              signed: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    k = X.shape[1]
    signed = np.zeros(k, bool) if signed is None else signed
    total = sw.sum()

    def loss(theta):
        w, b = theta[:k], theta[k]
        z = X @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        value = np.sum(sw * (np.logaddexp(0.0, z) - y * z)) / total + 0.5 * l2 * w @ w
        gradient = np.r_[X.T @ (sw * (p - y)) / total + l2 * w, np.sum(sw * (p - y)) / total]
        return value, gradient

    rate = float(np.sum(sw * y) / total)
    start = np.r_[np.zeros(k), math.log((rate + 1e-9) / (1 - rate + 1e-9))]
    bounds = [(None if free else 0.0, None) for free in signed.tolist()] + [(None, None)]
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x[:k], float(result.x[k])


def fit_weights(X: np.ndarray, y: np.ndarray, names: list[str], sample_weight: np.ndarray | None = None,
                folds: int = CV_FOLDS, l2_grid: tuple = L2_GRID, seed: int = 0, signed: tuple = ()) -> Fit:
    """L2-regularised logistic regression with weights ≥ 0 (any sign for the columns
    named in ``signed``), the strength chosen by
    stratified k-fold cross-validation (mean log loss), refitted on all rows.

    Parameters
    ----------
    X : ndarray, shape (n, k)
        Features (:meth:`flowgraph.alerts.AlertInputs.design`).
    y : ndarray of bool, shape (n,)
        True for positives.
    names : list of str
        Column names of ``X``.
    sample_weight : ndarray, shape (n,), optional
        Weight of each row in the loss (default 1).
    folds : int
        Cross-validation folds (at most the size of the smaller class).
    l2_grid : tuple of float
    seed : int
        Fold assignment.
    signed : tuple of str
        Columns whose weight may be negative (:data:`flowgraph.alerts.SIGNED_FEATURES`).
    """
    X, y = np.asarray(X, float), np.asarray(y, float)
    free = np.isin(np.asarray(names, dtype=object), list(signed))
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), np.int64)
    for cls in (0.0, 1.0):  # stratified: each fold holds both classes
        members = rng.permutation(np.flatnonzero(y == cls))
        fold[members] = np.arange(len(members)) % folds
    scores = {}
    for l2 in l2_grid:
        losses = []
        for k in range(folds):
            train, test = fold != k, fold == k
            w, b = _fit_once(X[train], y[train], sw[train], l2, free)
            losses.append(_log_loss(X[test], y[test], sw[test], w, b))
        scores[l2] = float(np.mean(losses))
    best = min(l2_grid, key=lambda l2: (scores[l2], l2))
    w, b = _fit_once(X, y, sw, best, free)
    rate = float(np.sum(sw * y) / sw.sum())
    base = -float(np.sum(sw * (y * math.log(rate) + (1 - y) * math.log(1 - rate))) / sw.sum()) if 0 < rate < 1 else 0.0
    return Fit(folds, {n: round(float(v), 4) for n, v in zip(names, w)}, round(b, 4), best, scores[best], base)


@dataclass(frozen=True)
class LearnResult:
    """What :func:`learn` made: the new model, the fit, the TOML text written, the diff
    lines against the current model, and the backtest (one row per alert)."""

    model: ModelConfig
    fit: Fit
    toml: str
    diff: list
    backtest: pd.DataFrame
    summary: dict


def learn(store_path: str | Path, out: str | Path, config_path: str | Path | None = None,
          min_dispositions: int = MIN_DISPOSITIONS) -> LearnResult:
    """Fit the model's weights from the store's dispositions and write a new configuration.

    Parameters
    ----------
    store_path : path
        The run store. Its latest complete run's configuration gives the alerts (rebuilt
        from its stored hits, with the same ids as the dispositions).
    out : path
        The new TOML configuration: the current one (``config_path``) with a new
        ``[model]`` and provenance comments. Written beside it: ``OUT.backtest.csv``
        (through :func:`flowgraph._spreadsheet.spreadsheet_safe`).
    config_path : path, optional
        The current configuration (default: every default).
    min_dispositions : int
        Fewest decided alerts to fit from (and :data:`MIN_PER_CLASS` of each class).

    Raises
    ------
    ConfigError
        ``out`` is the current configuration file, or that file writes ``model`` inline.
    DataError
        No complete run, no hits under the latest run's configuration, or too few decided alerts.
    """
    out = Path(out)
    if config_path is not None and out.resolve() == Path(config_path).resolve():
        raise ConfigError(f"--out {out} is the current configuration; learn never changes it. Fix: give a new "
                          "file name, then scan with it when the new model is accepted.")
    config = load_config(config_path)
    store = Store(store_path, create=False)
    runs = store.query("SELECT config_hash FROM runs WHERE status = 'complete' ORDER BY finished_at")
    if runs.empty:
        raise DataError(f"{store_path}: no complete scan run. Fix: scan, dispose of alerts, then learn.")
    config_hash = runs["config_hash"].iloc[-1]
    _check_same_detection(config, store, config_hash, config_path)
    decided = store.latest_dispositions()
    inputs = _alerts(store, config.model, config_hash)
    if inputs is None:
        raise DataError(_no_hits_message(store_path, config_hash, len(decided), min_dispositions))
    label = inputs.frame["alert_id"].map(decided.set_index("alert_id")["disposition"])
    # a reopened alert's decision was on fewer hits than it holds now: it labels what the
    # analyst saw, not these features (it counts again once decided anew)
    reopened = inputs.frame["alert_id"].isin(reopened_alert_ids(store, config_hash)).to_numpy() \
        & label.notna().to_numpy()
    label[reopened] = None
    known = label.notna().to_numpy()
    y = label[known].isin(POSITIVE).to_numpy()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if len(y) < min_dispositions or min(n_pos, n_neg) < MIN_PER_CLASS:
        raise DataError(
            f"{store_path}: {len(y)} decided alert(s) of configuration {config_hash} ({n_pos} case/reported, "
            f"{n_neg} excluded); learning needs at least {min_dispositions}, with at least {MIN_PER_CLASS} of each. "
            "Fix: record more decisions with `flowgraph dispose` (--force for alerts that were not raised).")
    X, names = inputs.design()
    fit = fit_weights(X[known], y, names, folds=min(CV_FOLDS, n_pos, n_neg), signed=SIGNED_FEATURES)
    # an indicator no decided alert has tells the fit nothing: its weight stays (the fit's 0 would silence it)
    unseen = {n for n, seen in zip(names, X[known].any(axis=0)) if not seen and n in config.model.weights}
    model = dataclasses.replace(
        config.model, weights={n: config.model.weights[n] if n in unseen else fit.weights[n]
                               for n in inputs.indicators.tolist() if n in config.model.weights},
        alert_threshold=max(0.0, round(-fit.intercept, 4)), **{f"{f}_weight": fit.weights[f] for f in FEATURES})
    backtest, summary = _backtest(inputs, config.model, model, label)
    summary.update(decided=len(y), positive=n_pos, excluded=n_neg, reopened=int(reopened.sum()),
                   ignored_dispositions=len(decided) - len(y) - int(reopened.sum()),
                   config_hash=config_hash, kept_weights=sorted(unseen))
    text = _config_text(config_path, model, fit, store_path, summary)
    diff = model_diff(config.model, model)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    if load_config(out).model != model:  # the file must say exactly what was fitted
        out.unlink()
        raise ConfigError(f"{config_path}: its [model] could not be replaced line by line. Fix: write the model "
                          "as [model] and [model.weights] tables.")
    spreadsheet_safe(backtest).to_csv(out.with_name(out.name + ".backtest.csv"), index=False)
    return LearnResult(model, fit, text, diff, backtest, summary)


def _alerts(store: Store, model: ModelConfig, config_hash: str) -> AlertInputs | None:
    """The alerts of every stored hit of ``config_hash`` (None without a hit), built bucket
    by bucket of monitoring units (:mod:`flowgraph.buckets`): memory holds one bucket's hits
    and every alert's features, not every hit (10 GB at 2.2 M hits). A decided alert whose
    first hit changed keeps its id, as in the store (:meth:`flowgraph.store.Store.keep_decided_ids`)."""
    units_of_hits = store.hit_units(config_hash)
    typologies = pc.unique(units_of_hits["typology"]).to_pylist()  # every part gets their columns
    parts = []
    for units, _ in unit_buckets(units_of_hits, hits_per_bucket=HITS_PER_BUCKET):
        part = alert_inputs(store.hits(config_hash, units=units), model, config_hash, typologies=typologies)
        part.frame["alert_id"] = store.keep_decided_ids(config_hash, part.frame)["alert_id"].to_numpy()
        parts.append(part)
    return concat_inputs(parts) if parts else None


def _no_hits_message(store_path, config_hash: str, n_decided: int, min_dispositions: int) -> str:
    """Why learn cannot start on a store whose latest configuration found nothing, and what
    gives it decided alerts: a scan that finds hits and analysts' decisions on its alerts,
    or a scan under the configuration the store's decisions were made under."""
    message = (f"{store_path}: the latest run's configuration ({config_hash}) has no hits, so no alerts to learn "
               "from; learn fits the model from analysts' decisions on that configuration's alerts. ")
    if n_decided:
        return message + (f"The store's {n_decided} decision(s) are on alerts it does not find (another "
                          "configuration's). Fix: scan again with the configuration they were made under (its "
                          "--config), then learn.")
    return message + ("Fix: scan data in which the detectors find hits (more days, e.g. --from/--to over the "
                      f"months to learn from), decide at least {min_dispositions} of its alerts ({MIN_PER_CLASS} "
                      f"case/reported, {MIN_PER_CLASS} excluded) with `flowgraph dispose ALERT_ID --store "
                      f"{store_path} --as case|reported|excluded --analyst NAME`, then learn.")


#: What :func:`learn` fits: the rest of a configuration must be the one the store's alerts
#: were found and grouped under.
FITTED_MODEL_FIELDS = ("weights", "alert_threshold", *(f"{f}_weight" for f in FEATURES))


def _check_same_detection(config, store: Store, config_hash: str, config_path) -> None:
    """A ConfigError when ``config`` differs from the configuration of the store's latest
    run in anything but what learn fits (rule set, detectors, calendar, grouping, ...): the
    decided alerts were found and grouped under that one, and weights fitted on them would be
    written into another (a stored run without its configuration is not checked)."""
    stored = run_config(store, config_hash)
    if not stored:
        return

    def unfitted(payload: dict) -> dict:
        model = {k: v for k, v in payload.get("model", {}).items() if k not in FITTED_MODEL_FIELDS}
        return {**{k: v for k, v in payload.items() if k not in ("model", "chunk_days")}, "model": model}

    mine = unfitted(json.loads(json.dumps(config.to_dict(), default=str)))
    stored = unfitted(stored)
    differ = sorted({*mine, *stored} - {k for k in {*mine, *stored} if mine.get(k) == stored.get(k)})
    differ += [f"model.{k}" for k in sorted({*mine["model"], *stored["model"]})
               if "model" in differ and mine["model"].get(k) != stored["model"].get(k)]
    if differ:
        shown = [d for d in differ if d != "model"]
        raise ConfigError(f"--config {config_path or '(defaults)'}: differs from the configuration of the store's "
                          f"latest run ({config_hash}) in {', '.join(shown)}, not only in what learn fits: its alerts "
                          "were found and grouped under that one. Fix: give learn the configuration file that run was "
                          "scanned with, or scan with this one first and decide on its alerts.")


def _backtest(inputs, before: ModelConfig, after: ModelConfig, label: pd.Series) -> tuple[pd.DataFrame, dict]:
    """Every alert scored by both models, and precision/recall of each against the
    dispositions (raised and decided positive / raised and decided; / decided positive)."""
    old, new = (score_alerts(inputs, m).set_index("alert_id") for m in (before, after))
    frame = pd.DataFrame({"alert_id": inputs.frame["alert_id"], "disposition": label.fillna("").to_numpy()})
    frame = frame.assign(score_before=frame["alert_id"].map(old["score"]),
                         raised_before=frame["alert_id"].map(old["raised"]),
                         score_after=frame["alert_id"].map(new["score"]),
                         raised_after=frame["alert_id"].map(new["raised"]))
    decided = frame[frame["disposition"] != ""]
    positive = decided["disposition"].isin(POSITIVE)
    summary = {"alerts": len(frame)}
    for when in ("before", "after"):
        raised = decided[f"raised_{when}"]
        summary[f"raised_{when}"] = int(frame[f"raised_{when}"].sum())
        summary[f"precision_{when}"] = round(float(positive[raised].mean()), 4) if raised.any() else None
        summary[f"recall_{when}"] = round(float(raised[positive].mean()), 4) if positive.any() else None
    summary["newly_raised"] = frame.loc[frame["raised_after"] & ~frame["raised_before"], "alert_id"].tolist()
    summary["dropped"] = frame.loc[~frame["raised_after"] & frame["raised_before"], "alert_id"].tolist()
    return frame.sort_values(["score_after", "alert_id"], ascending=[False, True]), summary


def model_diff(before: ModelConfig, after: ModelConfig) -> list[str]:
    """``key: old -> new`` for every model value that changed (weights by indicator)."""
    lines = [f"weights.{n}: {before.weights.get(n)} -> {w}" for n, w in sorted(after.weights.items())
             if before.weights.get(n) != w]
    for f in dataclasses.fields(ModelConfig):
        if f.name != "weights" and getattr(before, f.name) != getattr(after, f.name):
            lines.append(f"{f.name}: {getattr(before, f.name)} -> {getattr(after, f.name)}")
    return lines


_MODEL_TABLE = re.compile(r"^\s*\[\s*model\s*(\.[^\]]*)?\]")
_ANY_TABLE = re.compile(r"^\s*\[")


def _config_text(config_path, model: ModelConfig, fit: Fit, store_path, summary: dict) -> str:
    """The current configuration's text without its ``[model]`` tables, then the new ones
    with provenance comments."""
    kept = []
    if config_path is not None:
        in_model = False
        for line in Path(config_path).read_text().splitlines():
            if _ANY_TABLE.match(line):
                in_model = bool(_MODEL_TABLE.match(line))
            if not in_model:
                kept.append(line)
        if "model" in tomllib.loads("\n".join(kept)):
            raise ConfigError(f"{config_path}: writes model inline; learn replaces [model] tables. Fix: write the "
                              "model as [model] and [model.weights] tables.")
    when = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    lines = [*kept, "" if kept else None,
             f"# [model] learned by `flowgraph learn` at {when} from {store_path}",
             f"# (configuration {summary['config_hash']}): {summary['decided']} decided alerts "
             f"({summary['positive']} case/reported, {summary['excluded']} excluded);",
             f"# L2 logistic regression, weights >= 0 but {', '.join(SIGNED_FEATURES)}'s, L2 {fit.l2} chosen by "
             f"{fit.folds}-fold CV: mean log loss {fit.cv_log_loss:.4f} (base rate {fit.base_log_loss:.4f}); "
             f"threshold = -intercept {-fit.intercept}" + ("." if -fit.intercept >= 0 else
                                                          ", below 0: written as 0 (a threshold is not negative)."),
             f"# Backtest on those decisions: precision {summary['precision_before']} -> {summary['precision_after']}, "
             f"recall {summary['recall_before']} -> {summary['recall_after']}.",
             f"# WARNING: {NO_BETTER_THAN_BASE}" if fit.no_better_than_base else None,
             "[model]"]
    for f in dataclasses.fields(ModelConfig):
        if f.name != "weights":
            value = getattr(model, f.name)  # an int stays one (the alert's limits in weeks and days)
            lines.append(f"{f.name} = {json.dumps(value if isinstance(value, int) else float(value))}")
    lines += ["", "[model.weights]", *(f"{n} = {json.dumps(float(w))}" for n, w in sorted(model.weights.items()))]
    return "\n".join(x for x in lines if x is not None) + "\n"
