"""The scan's configuration: one TOML file (rule set, detector windows and thresholds,
model weights, calendar), validated when it is loaded.

Every key is optional; what is absent keeps its default (the SPEC numbers in
:mod:`flowgraph.config` and the detectors' parameter classes). Example::

    rule_set = "PBOC-2016"          # or "PBOC-2003", for a retrospective re-scan
    chunk_days = 5                  # business days committed to the store at a time

    [calendar]
    extra_holidays = ["2024-10-09"]
    extra_workdays = []

    [detectors.pass_through]
    tolerance = 0.05

    [model]
    alert_threshold = 1.0
    tolerance_band = 0.2

    [model.weights]
    pass_through_chain = 1.5

A bad value fails at load time with the key, the allowed range and the value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .alerts import DEFAULT_WEIGHTS, ModelConfig
from .calendar import BusinessCalendar
from .config import get_rule_set
from .detectors import DETECTORS
from .errors import ConfigError

TOP_KEYS = {"rule_set", "chunk_days", "calendar", "detectors", "model"}


@dataclass(frozen=True)
class ScanConfig:
    """Everything a scan run depends on besides the data (its hash is recorded).

    Parameters
    ----------
    rule_set : str
        Large-value rule set (``flowgraph.config.RULE_SETS``), passed to every detector.
    detector_params : dict
        Detector name -> its parameters dataclass.
    model : ModelConfig
        Weights, tolerance band, alert threshold.
    extra_holidays, extra_workdays : tuple of str
        Overrides of the PRC calendar.
    chunk_days : int
        Business days scanned and committed to the store at a time (a killed scan loses
        at most one chunk of work).
    """

    rule_set: str = "PBOC-2016"
    detector_params: dict = field(default_factory=lambda: {n: d for n, (_, d) in DETECTORS.items()}, hash=False)
    model: ModelConfig = field(default_factory=ModelConfig)
    extra_holidays: tuple = ()
    extra_workdays: tuple = ()
    chunk_days: int = 5

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.prc(extra_holidays=self.extra_holidays, extra_workdays=self.extra_workdays)

    def to_dict(self) -> dict:
        return {"rule_set": self.rule_set, "chunk_days": self.chunk_days,
                "calendar": {"extra_holidays": list(self.extra_holidays), "extra_workdays": list(self.extra_workdays)},
                "detectors": {n: dataclasses.asdict(p) for n, p in sorted(self.detector_params.items())},
                "model": dataclasses.asdict(self.model)}

    @property
    def config_hash(self) -> str:
        """Hash of everything that changes hits or alerts (chunking excluded)."""
        payload = self.to_dict()
        payload.pop("chunk_days")
        return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def _build(cls, values: dict, where: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    try:
        return cls(**values)
    except (ConfigError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_config(path: str | Path | None = None) -> ScanConfig:
    """Read and validate a TOML configuration (None: every default).

    Parameters
    ----------
    path : path, optional
        The TOML file.

    Raises
    ------
    ConfigError
        Unreadable file, unknown key or bad value; the message names the key.
    """
    if path is None:
        return ScanConfig()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found. Fix: check the path.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix: correct the syntax at that line.") from None
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {sorted(TOP_KEYS)}")
    rule_set = raw.get("rule_set", "PBOC-2016")
    try:
        get_rule_set(rule_set)
    except KeyError as exc:
        raise ConfigError(f"{path}: rule_set: {exc.args[0]}") from None
    det_raw = raw.get("detectors", {})
    bad = sorted(set(det_raw) - set(DETECTORS))
    if bad:
        raise ConfigError(f"{path}: [detectors] has unknown detector(s) {bad}; known: {sorted(DETECTORS)}")
    params = {}
    for name, (_, default) in DETECTORS.items():
        values = {**dataclasses.asdict(default), "rule_set": rule_set, **det_raw.get(name, {})}
        params[name] = _build(type(default), values, f"{path}: [detectors.{name}]")
    model_raw = dict(raw.get("model", {}))
    weights = {**DEFAULT_WEIGHTS, **model_raw.pop("weights", {})}
    model = _build(ModelConfig, {**model_raw, "weights": weights}, f"{path}: [model]")
    cal = raw.get("calendar", {})
    bad = sorted(set(cal) - {"extra_holidays", "extra_workdays"})
    if bad:
        raise ConfigError(f"{path}: [calendar] has unknown key(s) {bad}; known: ['extra_holidays', 'extra_workdays']")
    chunk_days = raw.get("chunk_days", 5)
    if not (isinstance(chunk_days, int) and chunk_days >= 1):
        raise ConfigError(f"{path}: The 'chunk_days' parameter must be an int in the range [1, inf). "
                          f"Got {chunk_days!r} instead.")
    config = ScanConfig(rule_set, params, model, tuple(map(str, cal.get("extra_holidays", ()))),
                        tuple(map(str, cal.get("extra_workdays", ()))), chunk_days)
    try:
        config.calendar()
    except (ConfigError, ValueError) as exc:
        raise ConfigError(f"{path}: [calendar]: {exc}") from None
    return config
