"""Learning the alert model's weights from analysts' dispositions (004 ch.5: dynamic
optimisation from results).

The model (:mod:`flowgraph.alerts`) scores an alert with Σ weight × feature, the log-odds
of a logistic regression without its intercept. :func:`fit_weights` fits that regression:
an L2-regularised logistic loss, minimised with scipy's L-BFGS-B under the bound weight ≥ 0
(so no indicator lowers a score, as in the shipped model), the intercept free; the
regularisation strength is chosen by k-fold cross-validation. The alert threshold becomes
minus the intercept: an alert is raised when the fitted probability reaches 0.5.

:func:`learn` reads a run store: the alerts of its latest complete configuration are
rebuilt from the stored hits (same ids), labelled by their latest disposition (case or
reported: positive; excluded: negative), fitted, and backtested. It writes a new
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
from scipy.optimize import minimize

from .alerts import FEATURES, ModelConfig, alert_inputs, score_alerts
from .errors import ConfigError, DataError
from .scan_config import ScanConfig, load_config
from .store import Store

#: Fewest decided alerts ``learn`` fits from, and fewest of each class: below these a
#: cross-validated fit says more about the split than about the bank.
MIN_DISPOSITIONS = 30
MIN_PER_CLASS = 5
#: L2 strengths tried by cross-validation (penalty λ/2 · ||w||² on the mean log loss).
L2_GRID = (0.001, 0.01, 0.1)
CV_FOLDS = 5
POSITIVE = ("case", "reported")


@dataclass(frozen=True)
class Fit:
    """A fitted model: ``weights`` (column name -> weight ≥ 0), ``intercept``, the chosen
    ``l2`` and its cross-validated mean log loss ``cv_log_loss`` (and that of a model
    predicting the base rate, ``base_log_loss``)."""

    weights: dict
    intercept: float
    l2: float
    cv_log_loss: float
    base_log_loss: float


def _log_loss(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    z = X @ w + b
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def _fit_once(X: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    n, k = X.shape

    def loss(theta):
        w, b = theta[:k], theta[k]
        z = X @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        value = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w @ w
        gradient = np.r_[X.T @ (p - y) / n + l2 * w, np.mean(p - y)]
        return value, gradient

    start = np.r_[np.zeros(k), math.log((y.mean() + 1e-9) / (1 - y.mean() + 1e-9))]
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * k + [(None, None)])
    return result.x[:k], float(result.x[k])


def fit_weights(X: np.ndarray, y: np.ndarray, names: list[str], folds: int = CV_FOLDS,
                l2_grid: tuple = L2_GRID, seed: int = 0) -> Fit:
    """L2-regularised logistic regression with weights ≥ 0, the strength chosen by
    stratified k-fold cross-validation (mean log loss), refitted on all rows.

    Parameters
    ----------
    X : ndarray, shape (n, k)
        Features (:meth:`flowgraph.alerts.AlertInputs.design`).
    y : ndarray of bool, shape (n,)
        True for positives.
    names : list of str
        Column names of ``X``.
    folds : int
        Cross-validation folds (at most the size of the smaller class).
    l2_grid : tuple of float
    seed : int
        Fold assignment.
    """
    X, y = np.asarray(X, float), np.asarray(y, float)
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
            w, b = _fit_once(X[train], y[train], l2)
            losses.append(_log_loss(X[test], y[test], w, b))
        scores[l2] = float(np.mean(losses))
    best = min(l2_grid, key=lambda l2: (scores[l2], l2))
    w, b = _fit_once(X, y, best)
    rate = y.mean()
    base = -float(np.mean(y * math.log(rate) + (1 - y) * math.log(1 - rate))) if 0 < rate < 1 else 0.0
    return Fit({n: round(float(v), 4) for n, v in zip(names, w)}, round(b, 4), best, scores[best], base)
