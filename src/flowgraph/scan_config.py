"""The scan's configuration: one TOML file (rule set, detector windows and thresholds,
model weights, calendar), validated when it is loaded.

Every key is optional; what is absent keeps its default (the SPEC numbers in
:mod:`flowgraph.config` and the detectors' parameter classes). Example::

    rule_set = "PBOC-2016"          # or "PBOC-2003" (a retrospective re-scan), "US-BSA", or a
                                    # [rule_set] table, or rule_set_file = "my-rules.toml"
    rates = "rates.csv"             # exchange rates (default: the illustrative packaged table)
    chunk_days = 20                 # business days committed to the store at a time

    [calendar]
    extra_holidays = ["2024-10-09"]
    extra_workdays = []
    holidays_file = "prc_holidays_2027.csv"   # a year's State Council schedule (see flowgraph.calendar)
    beyond_coverage = "estimate"              # or "error" (refuse years without official data), "weekends"
    bank_timezone = "America/Chicago"         # the bank's time zone, instead of the rule set's

    [detectors.pass_through]
    tolerance = 0.05

    [model]                         # flowgraph.alerts; `flowgraph learn` writes one from dispositions
    alert_threshold = 1.1
    tolerance_band = 0.2
    utilisation_weight = 1.77       # also closeness_, amount_, families_, repetition_, reach_, size_,
                                    # recurrence_weight

    [model.weights]
    pass_through_chain = 1.5

Python and TOML take one validation path: :func:`load_config` only maps the file's
tables onto :class:`ScanConfig`, whose construction checks every value. A bad value
fails with the key, what is allowed and the value.

The rule set is chosen once, for the whole scan (``rule_set``): every detector's
parameters take it. Parameters given for a detector with another rule set are an error,
not silently overridden.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ._toml import read_toml
from .alerts import ModelConfig
from .calendar import BusinessCalendar
from .config import (RULE_SETS, RuleSet, check_detector_rules, get_rule_set, is_time_zone, read_rule_set_file,
                     rule_set_from_table)
from .detectors import REGISTRY
from .detectors._params import Constraint, Interval, KnownRuleSet, OptionalPath, Options, validate_params
from .errors import ConfigError, DataError
from .hits import params_values
from .money import RateTable, default_rates, read_rates

TOP_KEYS = {"rule_set", "rule_set_file", "rates", "chunk_days", "calendar", "detectors", "model"}
CALENDAR_KEYS = ("extra_holidays", "extra_workdays", "holidays_file", "beyond_coverage", "bank_timezone")

#: Chunks only set how much work a commit to the store holds; any size gives the same hits.
MAX_CHUNK_DAYS = 10_000

#: Business days a commit to the run store holds by default (``chunk_days``). Every commit
#: rewrites the store's pages its hits touch, and a hit's id (a digest) lands anywhere in the
#: indexes by id, so a commit costs about the size of those indexes however few hits it
#: holds: replaying the 890,804 hits of the 1e8 bank's 240-day range into a new store took
#: 16.0-18.7 s in 5-day chunks (48 commits, 4.3-4.7 s of them in COMMIT) and 11.9-12.3 s in
#: 20-day ones (12 commits, 1.6 s). A killed scan redoes at most one chunk's commit (its hits
#: are found again either way), and a T+1 scan is one chunk whatever the size.
DEFAULT_CHUNK_DAYS = 20


class _DetectorParams(Constraint):
    """Detector name -> its parameters dataclass, or a dict of its fields (which takes
    the scan's rule set); detectors left out get their defaults under that rule set."""

    description = (f"a dict from detector names {sorted(REGISTRY)} to their parameters "
                   "([detectors.NAME] tables in TOML)")

    def accepts(self, value) -> bool:
        return isinstance(value, dict)

    def check(self, owner, name, value):
        super().check(owner, name, value)
        unknown = sorted(set(value) - set(REGISTRY), key=str)
        if unknown:
            raise ConfigError(f"[detectors] has unknown detector(s) {unknown}; known: {sorted(REGISTRY)}")
        params = {}
        for detector, entry in REGISTRY.items():
            given, where, cls = value.get(detector), f"[detectors.{detector}]", entry.params
            if given is None:
                params[detector] = dataclasses.replace(entry.default, rule_set=owner.rule_set)
            elif isinstance(given, dict):
                params[detector] = _build(cls, {"rule_set": owner.rule_set, **given}, where)
            elif isinstance(given, cls):
                params[detector] = given
                if get_rule_set(given.rule_set) == owner.rules:  # the same rules, spelled as the scan spells them
                    params[detector] = dataclasses.replace(given, rule_set=owner.rule_set)
            else:
                raise ConfigError(f"{where}: must be a {cls.__name__} or a dict of its parameters. "
                                  f"Got {given!r} instead.")
            if params[detector].rule_set != owner.rule_set:
                raise ConfigError(
                    f"{where}: its rule_set {params[detector].rule_set!r} differs from the scan's rule_set "
                    f"{owner.rule_set!r}. Fix: choose the rule set once (ScanConfig(rule_set=...), or the "
                    "top-level rule_set key in TOML) and leave it out of the detector's parameters, e.g. "
                    "give them as a dict; or make the two agree.")
        return params


class _Model(Constraint):
    description = "a ModelConfig or a dict of its parameters ([model] in TOML)"

    def accepts(self, value) -> bool:
        return isinstance(value, (ModelConfig, dict))

    def normalise(self, value):
        return value if isinstance(value, ModelConfig) else _build(ModelConfig, value, "[model]")


class _TimeZone(Constraint):
    """An IANA time-zone name (``America/Chicago``), or None for the rule set's."""

    description = "an IANA time-zone name, e.g. 'America/Chicago' or 'Asia/Shanghai', or None (the rule set's)"

    def accepts(self, value) -> bool:
        return value is None or is_time_zone(value)


class _Dates(Constraint):
    """Dates as a list; stored as a sorted tuple of distinct ``YYYY-MM-DD`` strings (the
    calendar parses them), so the order a file lists them in does not change the hash."""

    description = "a list of dates (YYYY-MM-DD)"

    def accepts(self, value) -> bool:
        return isinstance(value, (list, tuple)) and all(_is_date(d) for d in value)

    def normalise(self, value):
        return tuple(sorted({str(d.date() if isinstance(d, dt.datetime) else d) for d in value}))


@dataclass(frozen=True)
class ScanConfig:
    """Everything a scan run depends on besides the data (its hash is recorded).

    Construction validates every field (the TOML file takes the same path) and raises
    :class:`~flowgraph.errors.ConfigError` naming the key, what is allowed and the value.

    Parameters
    ----------
    rule_set : str or RuleSet
        Large-value rule set, by name (``flowgraph.config.RULE_SETS``) or defined by the
        user (a ``[rule_set]`` table or ``rule_set_file`` in TOML), used by every detector;
        its ``calendar`` names the business days and its home currency the amounts.
    detector_params : dict
        Detector name -> its parameters dataclass, or a dict of its fields (these take
        ``rule_set``). Detectors left out get their defaults under ``rule_set``; a
        dataclass whose ``rule_set`` differs from the scan's is an error.
    model : ModelConfig or dict
        Weights, tolerance band, alert threshold.
    extra_holidays, extra_workdays : tuple of str
        Overrides of the rule set's calendar.
    holidays_file : str, optional
        A holidays file (format: :mod:`flowgraph.calendar`) for years the holiday package
        lacks; in TOML, relative to the configuration file's folder.
    beyond_coverage : {"estimate", "error", "weekends"}
        Years without official holiday data: estimated (default, marked in the manifest),
        refused, or Monday-Friday (the PRC calendar only: the others cover every year).
    bank_timezone : str, optional
        The bank's time zone (IANA name), instead of the rule set's
        (:attr:`~flowgraph.config.RuleSet.bank_timezone`): a US bank in Chicago under
        US-BSA (New York). Times with a UTC offset are dated there; :meth:`timezone` is
        the zone in force. Given equal to the rule set's, it is stored as None (the same
        configuration, the same hash).
    rates_file : str, optional
        Exchange-rate table (:func:`flowgraph.money.read_rates`); in TOML ``rates``,
        relative to the configuration file's folder. Default: the packaged illustrative one.
    chunk_days : int
        Business days committed to the store at a time (a killed scan commits at most one
        chunk again), in [1, :data:`MAX_CHUNK_DAYS`]; default :data:`DEFAULT_CHUNK_DAYS`.
    """

    rule_set: str | RuleSet = "PBOC-2016"
    detector_params: dict = field(default_factory=dict, hash=False)
    model: ModelConfig = field(default_factory=ModelConfig)
    extra_holidays: tuple = ()
    extra_workdays: tuple = ()
    holidays_file: str | None = None
    beyond_coverage: str = "estimate"
    bank_timezone: str | None = None
    rates_file: str | None = None
    chunk_days: int = DEFAULT_CHUNK_DAYS

    _parameter_constraints: ClassVar[dict] = {
        "rule_set": KnownRuleSet(),
        "detector_params": _DetectorParams(),
        "model": _Model(),
        "extra_holidays": _Dates(),
        "extra_workdays": _Dates(),
        "holidays_file": OptionalPath(),
        "beyond_coverage": Options("estimate", "error", "weekends"),
        "bank_timezone": _TimeZone(),
        "rates_file": OptionalPath(),
        "chunk_days": Interval(int, 1, MAX_CHUNK_DAYS),
    }

    def __post_init__(self) -> None:
        object.__setattr__(self, "rule_set", canonical_rule_set(self.rule_set))  # before the detectors take it
        validate_params(self)
        check_detector_rules(self.rules, "rule_set")
        if self.bank_timezone == self.rules.bank_timezone:  # the rule set's own: the same configuration
            object.__setattr__(self, "bank_timezone", None)
        if self.rules.calendar != "prc" and self.holidays_file is not None:
            raise ConfigError(f"[calendar] holidays_file: is for the PRC calendar, but rule set {self.rules.name!r} "
                              f"counts business days with the {self.rules.calendar!r} calendar. Fix: remove "
                              "holidays_file, or list single dates in extra_holidays / extra_workdays.")
        try:
            self.calendar()
        except (ConfigError, ValueError) as exc:
            raise ConfigError(f"[calendar]: {exc}") from None
        known = self.rates().currencies
        for key in ("home_currency", "foreign_currency"):
            currency = getattr(self.rules, key)
            if currency not in known:
                raise ConfigError(f"rule_set {key}: the rate table ({self.rates().source}) has no {currency} rates, so "
                                  f"amounts cannot be converted into it. Fix: add {currency} rows to the rate table "
                                  f"in the configuration (rates = \"FILE\"; --rates comes too late for this check), or "
                                  f"choose one of {sorted(known)}.")

    @property
    def rules(self) -> RuleSet:
        """The rule set itself (``rule_set`` may be its name)."""
        return get_rule_set(self.rule_set)

    def calendar(self) -> BusinessCalendar:
        """The rule set's calendar (:data:`flowgraph.config.CALENDARS`) with the overrides."""
        return business_calendar(self.rules.calendar, self.extra_holidays, self.extra_workdays,
                                 self.beyond_coverage, self.holidays_file)

    def timezone(self) -> str:
        """The bank's time zone (IANA name): ``bank_timezone``, else the rule set's."""
        return self.bank_timezone or self.rules.bank_timezone

    def rates(self) -> RateTable:
        """The exchange-rate table: ``rates_file``, else the packaged illustrative one.

        Raises
        ------
        ConfigError
            ``rates_file`` cannot be read as a rate table (naming the key and the fix).
        """
        if self.rates_file is None:
            return default_rates()
        return _read_rates_file(self.rates_file, _file_sha256(self.rates_file))

    def to_dict(self) -> dict:
        rule_set = self.rule_set if isinstance(self.rule_set, str) else self.rule_set.to_dict()
        payload = {"rule_set": rule_set, "chunk_days": self.chunk_days,
                "calendar": {"extra_holidays": list(self.extra_holidays), "extra_workdays": list(self.extra_workdays),
                             "holidays_file": self._holidays_file_digest(), "beyond_coverage": self.beyond_coverage},
                "detectors": {n: params_values(p) for n, p in sorted(self.detector_params.items())},
                "model": dataclasses.asdict(self.model)}
        if self.bank_timezone is not None:  # another zone dates transactions differently
            payload["calendar"]["bank_timezone"] = self.bank_timezone
        if self.rates_file is not None:  # a changed table converts amounts differently
            payload["rates"] = {"path": self.rates_file, "sha256": _file_sha256(self.rates_file)}
        return payload

    def _holidays_file_digest(self) -> dict | None:
        """The holidays file by path and content: a changed file changes the hash."""
        if self.holidays_file is None:
            return None
        return self.calendar().describe()["holidays_file"]

    @property
    def config_hash(self) -> str:
        """Hash of everything that changes hits or alerts (chunking excluded).

        It hashes the configuration as resolved at construction, not as it was written: a
        rule set equal to a built-in one enters as that name (``based_on = "PBOC-2016"``
        with no overrides, or overrides equal to its values, hash as the default does),
        numbers as their parameter's type, and date lists sorted. Stores key hits and
        alerts by it, so the default configuration's hash must not change.
        """
        payload = self.to_dict()
        payload.pop("chunk_days")
        return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def canonical_rule_set(rule_set):
    """A built-in rule set's name for a :class:`~flowgraph.config.RuleSet` equal to it (its
    rules and numbers; the description aside); anything else as it is.

    A ``[rule_set]`` table ``based_on`` a built-in, with no overrides or with overrides
    equal to the built-in's values, so configures exactly the built-in: as its name it gives
    the same configuration hash and parameter ids, hence the same hit and alert ids.
    """
    if isinstance(rule_set, RuleSet) and RULE_SETS.get(rule_set.name) == rule_set:
        return rule_set.name
    return rule_set


@functools.cache
def _read_rates_file(path: str, sha256: str) -> RateTable:
    """The rate table at ``path``, read once per content (``sha256``)."""
    try:
        return read_rates(path)
    except DataError as exc:
        raise ConfigError(f"rates: {exc}") from None


def _file_sha256(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"rates {path!r}: cannot be read ({exc.strerror}). Fix: check the path (relative to the "
                          "configuration file's folder) and its permissions.") from None


def business_calendar(kind: str, extra_holidays=(), extra_workdays=(), beyond_coverage: str = "estimate",
                      holidays_file: str | None = None) -> BusinessCalendar:
    """A rule set's calendar (:data:`flowgraph.config.CALENDARS`: ``prc``, ``us_federal``,
    ``weekdays``) with a configuration's overrides (the holidays file and what to do
    beyond its coverage concern the PRC calendar only)."""
    if kind == "us_federal":
        return BusinessCalendar.us_federal(extra_holidays, extra_workdays)
    if kind == "weekdays":
        return BusinessCalendar.weekdays_only(extra_holidays, extra_workdays)
    return BusinessCalendar.prc(extra_holidays=extra_holidays, extra_workdays=extra_workdays,
                                beyond_coverage=beyond_coverage, holidays_file=holidays_file)


def _is_date(value) -> bool:
    if isinstance(value, dt.date):
        return True
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def _build(cls, values: dict, where: str):
    """``cls(**values)``, with unknown keys and bad values reported under ``where``."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known, key=str)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_config(path: str | Path | None = None) -> ScanConfig:
    """Read a TOML configuration (None: every default) into a :class:`ScanConfig`,
    whose construction validates it.

    Parameters
    ----------
    path : path, optional
        The TOML file.

    Raises
    ------
    ConfigError
        Unreadable file, unknown key or bad value; the message names the file and the key.
    """
    if path is None:
        return ScanConfig()
    path = Path(path)
    raw = read_toml(path, f"{path} (configuration)", "check the path.")
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {sorted(TOP_KEYS)}")
    kwargs = {key: raw[key] for key in ("rule_set", "chunk_days") if key in raw}
    if "rule_set" in raw and "rule_set_file" in raw:
        raise ConfigError(f"{path}: both rule_set and rule_set_file are given. Fix: keep one.")
    if isinstance(raw.get("rule_set"), dict):
        kwargs["rule_set"] = rule_set_from_table(raw["rule_set"], f"{path}: [rule_set]")
    if "rule_set_file" in raw:
        if not isinstance(raw["rule_set_file"], str):
            raise ConfigError(f"{path}: rule_set_file must be a path (text). Got {raw['rule_set_file']!r} instead.")
        try:
            kwargs["rule_set"] = read_rule_set_file(path.parent / raw["rule_set_file"])
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    if "rates" in raw:
        kwargs["rates_file"] = str(path.parent / raw["rates"]) if isinstance(raw["rates"], str) else raw["rates"]
    kwargs["detector_params"] = raw.get("detectors", {})
    kwargs["model"] = raw.get("model", {})
    cal = raw.get("calendar", {})
    if not isinstance(cal, dict):
        raise ConfigError(f"{path}: calendar must be a table ([calendar]). Got {cal!r} instead.")
    bad = sorted(set(cal) - set(CALENDAR_KEYS))
    if bad:
        raise ConfigError(f"{path}: [calendar] has unknown key(s) {bad}; known: {list(CALENDAR_KEYS)}")
    kwargs.update({key: cal[key] for key in CALENDAR_KEYS if key in cal})
    if isinstance(kwargs.get("holidays_file"), str):  # relative to the configuration file
        kwargs["holidays_file"] = str(path.parent / kwargs["holidays_file"])
    try:
        return ScanConfig(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
