"""The one place where regulatory numbers live.

Every threshold below is the default of a named parameter and carries its source:
the seed documents in ``../shared/seeds/`` (cited by file name) and ``SPEC.md``.
A scan picks a rule set by name (:data:`RULE_SETS`: ``PBOC-2016``, ``PBOC-2003`` and the
example ``US-BSA`` shipped as ``flowgraph/rulesets/us-bsa.toml``), or defines its own in
its TOML configuration (:func:`rule_set_from_table`, format in ``README.md``).

A rule set has a *home currency*: amounts in it are compared with each rule's
``threshold_home``; amounts in any other currency are converted into the rule set's
``foreign_currency`` and compared with ``threshold_foreign`` (the PBOC rules: CNY at home,
foreign currencies as their USD equivalent, 003 art. 5).

Money is float64 in major units (yuan, dollars), rounded to the cent after any
currency conversion (see :mod:`flowgraph.money`). "At or above" (以上) is inclusive:
an amount equal to a threshold meets it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import zoneinfo
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ._toml import read_toml
from .errors import ConfigError

#: Transaction methods (channels) of the canonical table. ``cash`` covers cash deposit,
#: withdrawal, exchange, remittance and bills paid in cash (003, art. 5(1));
#: ``cross_border`` is a transfer with one side abroad (003, art. 5(4)).
CHANNELS: tuple[str, ...] = ("cash", "transfer", "cross_border")

#: Party types of an account holder. "entity" covers legal persons, other
#: organisations and sole proprietors (个体工商户), as in 003 art. 5(2).
PARTY_TYPES: tuple[str, ...] = ("person", "entity")

#: The default rule set's home currency; a transaction table without a ``currency``
#: column is read in it.
HOME_CURRENCY = "CNY"

#: The PBOC rule sets' time zone (IANA name), the default of :attr:`RuleSet.bank_timezone`:
#: China Standard Time (UTC+8), the PRC's one time zone. The seed documents fix no zone:
#: 003 art. 5 counts a customer's transactions "当日累计" (cumulative on the day) and
#: 二㈢ the deadline from the day of the transaction, and a PRC institution's day is its
#: local day, Beijing time.
BANK_TIMEZONE = "Asia/Shanghai"

#: Calendars a rule set may name (built by :meth:`flowgraph.scan_config.ScanConfig.calendar`):
#: the PRC's (State Council schedule), Monday-Friday plus the US federal holidays the
#: Federal Reserve Banks close on, or Monday-Friday only.
CALENDARS: tuple[str, ...] = ("prc", "us_federal", "weekdays")

#: Rules every detector reads by code: Φ of cash, of a person's and of an entity's transfers.
DETECTOR_RULE_CODES: tuple[str, ...] = ("LV-CASH", "LV-PERSON", "LV-ENTITY")

#: Business days within which a large-value report is due after the transaction, and a
#: suspicious-transaction report after the institution confirms the suspicion (003 二㈢:
#: "发生大额交易后的5个工作日内"; 二㈦: the suspicious report follows the same procedure;
#: 工作日 excludes statutory holidays and weekends). PBOC rules: the default of
#: :attr:`RuleSet.report_deadline_days`, which :mod:`flowgraph.desk.reports` counts on the
#: scan's calendar; suspicious-transaction report drafts count this number.
REPORT_DEADLINE_BUSINESS_DAYS = 5

#: Where :data:`REPORT_DEADLINE_BUSINESS_DAYS` comes from: the default of
#: :attr:`RuleSet.report_deadline_source`.
REPORT_DEADLINE_SOURCE = "003 二㈢"

#: Where a suspicious-transaction report's deadline comes from under PBOC rules (003 二㈦: it
#: follows the large-value procedure, the same 5 business days, counted from the institution's
#: confirmation of the suspicion): the default of :attr:`RuleSet.str_deadline_source`.
STR_DEADLINE_SOURCE = "003 二㈦"

#: Units a report deadline is counted in (:attr:`RuleSet.report_deadline_unit`): business
#: days of the rule set's calendar, or calendar days (weekends and holidays count).
DEADLINE_UNITS: tuple[str, ...] = ("business", "calendar")
#: The deadlines a rule set gives: ``report`` (a large-value report, from the transaction's
#: date) and ``str`` (a suspicious-transaction report, from the case decision).
DEADLINE_KINDS: tuple[str, ...] = ("report", "str")

# Who must be a party for a rule to apply.
ANY_PERSON = "any_person"  # a natural person on at least one side
BOTH_ENTITY = "both_entity"  # legal persons / organisations / sole proprietors on both sides
ANYONE = "anyone"

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")

#: The largest threshold, in major units: the largest amount a transaction may have
#: (``flowgraph.schema.MAX_AMOUNT_CNY``), so thresholds in cents stay exact in int64.
MAX_THRESHOLD = 1e13


@dataclass(frozen=True)
class LargeValueRule:
    """One large-value reporting rule: single transaction or daily cumulative sum per
    customer and direction, at or above the threshold.

    Parameters
    ----------
    code : str
        Short name used in hits and reports, e.g. ``"LV-CASH"``.
    channels : tuple of str
        Channels (methods) the rule covers, from :data:`CHANNELS`.
    parties : str
        ``"any_person"``, ``"both_entity"`` or ``"anyone"``.
    threshold_home : float
        Threshold for transactions in the rule set's home currency, in that currency.
    threshold_foreign : float
        Threshold for transactions in any other currency, as their equivalent in the
        rule set's ``foreign_currency`` (USD for the PBOC rules).
    source : str
        Document and article the numbers come from.
    record_only : bool
        The rule obliges the institution to keep a record of each transaction it meets, not
        to report it (US-BSA's funds-transfer rules, 31 CFR 1020.410(a)): its hits are found
        and kept like any other, and ``report-draft`` drafts no report for them.
    """

    code: str
    channels: tuple[str, ...]
    parties: str
    threshold_home: float
    threshold_foreign: float
    source: str
    record_only: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.channels) - set(CHANNELS))
        if unknown:
            raise ValueError(
                f"The 'channels' parameter of LargeValueRule {self.code!r} must hold values "
                f"from {list(CHANNELS)}. Got {unknown} instead."
            )
        if self.parties not in (ANY_PERSON, BOTH_ENTITY, ANYONE):
            raise ValueError(
                f"The 'parties' parameter of LargeValueRule {self.code!r} must be one of "
                f"'{ANY_PERSON}', '{BOTH_ENTITY}', '{ANYONE}'. Got {self.parties!r} instead."
            )
        for name in ("threshold_home", "threshold_foreign"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool)
                    and 0 < value <= MAX_THRESHOLD):
                raise ValueError(
                    f"The '{name}' parameter of LargeValueRule {self.code!r} must be a float "
                    f"in the range (0, {MAX_THRESHOLD:g}]. Got {value!r} instead."
                )
        if not isinstance(self.record_only, bool):
            raise ValueError(f"The 'record_only' parameter of LargeValueRule {self.code!r} must be a bool "
                             f"(true or false). Got {self.record_only!r} instead.")


def is_time_zone(name) -> bool:
    """Whether ``name`` is a time-zone name the IANA time-zone database knows
    (``America/New_York``, ``Asia/Shanghai``)."""
    if not (isinstance(name, str) and name.strip() == name and name):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@dataclass(frozen=True)
class RuleSet:
    """A named set of large-value rules plus the vocabulary numbers of SPEC §1.

    Parameters
    ----------
    name : str
        Rule-set name recorded in every hit and run manifest.
    rules : tuple of LargeValueRule
        The large-value rules; a transaction meeting two rules meets both (003: two reports).
    large_fraction : float
        "Large amount" (大额) in suspicious rules: this fraction of the applicable
        large-value threshold (001 §2, SPEC §1: 0.8).
    short_term_days : int
        "Short term" (短期), business days (001, SPEC §1: 10).
    frequent_txns_per_day : int
        "Frequent" (频繁): at least this many transactions on one business day (SPEC §1: 3).
    frequent_consecutive_days : int
        "Frequent": activity on at least this many consecutive business days (SPEC §1: 3).
    home_currency : str
        ISO 4217 code of the currency ``threshold_home`` is stated in; amounts convert
        into it (003 art. 5: CNY).
    foreign_currency : str
        ISO 4217 code ``threshold_foreign`` is stated in (003 art. 5: USD equivalent).
    calendar : {"prc", "us_federal", "weekdays"}
        Whose business days the rules count in (:data:`CALENDARS`).
    bank_timezone : str
        IANA name of the bank's time zone (:data:`BANK_TIMEZONE`: ``Asia/Shanghai``):
        a time stamp with a UTC offset is converted into it, and its date there is the
        transaction's day (what a daily cumulative sums and a deadline counts from); so is
        a case decision's. Time stamps without an offset are the bank's local time already.
    report_deadline_days : int
        Days after the transaction's date within which its report is due (003 二㈢: 5
        business days, :data:`REPORT_DEADLINE_BUSINESS_DAYS`).
    report_deadline_unit : {"business", "calendar"}
        What ``report_deadline_days`` counts (:data:`DEADLINE_UNITS`): business days of
        ``calendar``, or calendar days (weekends and holidays count).
    report_deadline_source : str
        Document and article the deadline comes from (:data:`REPORT_DEADLINE_SOURCE`).
    str_deadline_days, str_deadline_unit, str_deadline_source
        The same for a suspicious-transaction report, counted from the case decision (003
        二㈦: 5 business days, :data:`STR_DEADLINE_SOURCE`).
    description : str
        What the rule set is and its source.
    """

    name: str
    rules: tuple[LargeValueRule, ...]
    large_fraction: float = 0.8
    short_term_days: int = 10
    frequent_txns_per_day: int = 3
    frequent_consecutive_days: int = 3
    home_currency: str = HOME_CURRENCY
    foreign_currency: str = "USD"
    calendar: str = "prc"
    bank_timezone: str = BANK_TIMEZONE
    report_deadline_days: int = REPORT_DEADLINE_BUSINESS_DAYS
    report_deadline_unit: str = "business"
    report_deadline_source: str = field(default=REPORT_DEADLINE_SOURCE, compare=False)
    str_deadline_days: int = REPORT_DEADLINE_BUSINESS_DAYS
    str_deadline_unit: str = "business"
    str_deadline_source: str = field(default=STR_DEADLINE_SOURCE, compare=False)
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and self.name.strip()):
            raise ValueError(f"The 'name' parameter of RuleSet must be a non-empty str. Got {self.name!r} instead.")
        if not (isinstance(self.large_fraction, (int, float)) and not isinstance(self.large_fraction, bool)
                and 0 < self.large_fraction <= 1):
            raise ValueError(
                "The 'large_fraction' parameter of RuleSet must be a float in the range (0, 1]. "
                f"Got {self.large_fraction!r} instead."
            )
        for name in ("short_term_days", "frequent_txns_per_day", "frequent_consecutive_days",
                     "report_deadline_days", "str_deadline_days"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ValueError(
                    f"The '{name}' parameter of RuleSet must be an int in the range [1, inf). "
                    f"Got {value!r} instead."
                )
        for name in ("home_currency", "foreign_currency"):
            value = getattr(self, name)
            if not (isinstance(value, str) and _CURRENCY_CODE.fullmatch(value)):
                raise ValueError(f"The '{name}' parameter of RuleSet must be an ISO 4217 code in capitals, "
                                 f"e.g. 'USD'. Got {value!r} instead.")
        if not isinstance(self.description, str):
            raise ValueError(f"The 'description' parameter of RuleSet must be a str. Got {self.description!r} instead.")
        if not is_time_zone(self.bank_timezone):
            raise ValueError(f"The 'bank_timezone' parameter of RuleSet must be an IANA time-zone name, e.g. "
                             f"'America/New_York' or 'Asia/Shanghai'. Got {self.bank_timezone!r} instead.")
        if self.calendar not in CALENDARS:
            raise ValueError(f"The 'calendar' parameter of RuleSet must be a str among {list(CALENDARS)}. "
                             f"Got {self.calendar!r} instead.")
        for kind in DEADLINE_KINDS:
            unit, source = getattr(self, f"{kind}_deadline_unit"), getattr(self, f"{kind}_deadline_source")
            if unit not in DEADLINE_UNITS:
                raise ValueError(f"The '{kind}_deadline_unit' parameter of RuleSet must be a str among "
                                 f"{list(DEADLINE_UNITS)}. Got {unit!r} instead.")
            if not (isinstance(source, str) and source.strip()):
                raise ValueError(f"The '{kind}_deadline_source' parameter of RuleSet must be a non-empty str "
                                 f"(document and article). Got {source!r} instead.")
        if not self.rules:
            raise ValueError(f"RuleSet {self.name!r} has no rules.")
        codes = [r.code for r in self.rules]
        if len(set(codes)) != len(codes):
            raise ValueError(f"RuleSet {self.name!r} has repeated rule codes: {codes}.")

    def rule(self, code: str) -> LargeValueRule:
        """Return the rule named ``code``."""
        for r in self.rules:
            if r.code == code:
                return r
        raise KeyError(f"rule set {self.name!r} has no rule {code!r}; it has {[r.code for r in self.rules]}")

    def scaled(self, factor: float, name: str | None = None) -> "RuleSet":
        """Every threshold multiplied by ``factor``: for data on another scale (AMLSim
        amounts are hundreds of units, so the CNY defaults would never fire there)."""
        rules = tuple(dataclasses.replace(r, threshold_home=r.threshold_home * factor,
                                          threshold_foreign=r.threshold_foreign * factor,
                                          source=f"{r.source}; scaled x{factor:g}")
                      for r in self.rules)
        return dataclasses.replace(self, name=name or f"{self.name}x{factor:g}", rules=rules)

    def to_dict(self) -> dict:
        """Every field, as plain values (what a configuration hash, a detector's parameter
        id and a manifest record), but the fields added after stores were keyed by it
        (:data:`FIELDS_ADDED_WITH_DEFAULTS`) while they hold their defaults: a rule set
        written before them keeps its hash, hit ids and alert ids."""
        values = dataclasses.asdict(self)
        for key, default in FIELDS_ADDED_WITH_DEFAULTS.items():
            if values.get(key) == default:
                del values[key]
        for rule in values["rules"]:
            for key, default in RULE_FIELDS_ADDED_WITH_DEFAULTS.items():
                if rule.get(key) == default:
                    del rule[key]
        return values


# PBOC Order 2016 No.3 (金融机构大额交易和可疑交易报告管理办法), art. 5; 003 and 001 Table 1.
PBOC_2016 = RuleSet(
    name="PBOC-2016",
    description="PBOC Order 2016 No.3, in force 2017-07-01 (003 art. 5)",
    # 003 二㈢: "发生大额交易后的5个工作日内" (工作日: 二㈦, no statutory holidays or weekends).
    report_deadline_days=REPORT_DEADLINE_BUSINESS_DAYS,
    report_deadline_unit="business",
    report_deadline_source=REPORT_DEADLINE_SOURCE,
    # a day is a day in Beijing (BANK_TIMEZONE: 003 art. 5's 当日 is the institution's local day)
    bank_timezone=BANK_TIMEZONE,
    rules=(
        # 003 art. 5(1): cash 人民币5万元以上、外币等值1万美元以上.
        LargeValueRule("LV-CASH", ("cash",), ANYONE, 50_000.0, 10_000.0,
                       "003 art.5(1); PBOC Order 2016 No.3"),
        # 003 art. 5(2): between accounts of legal persons, other organisations and sole
        # proprietors 人民币200万元以上、外币等值20万美元以上 (domestic and cross-border).
        LargeValueRule("LV-ENTITY", ("transfer", "cross_border"), BOTH_ENTITY,
                       2_000_000.0, 200_000.0, "003 art.5(2); PBOC Order 2016 No.3"),
        # 003 art. 5(3): natural person, domestic transfer 人民币50万元以上、外币等值10万美元以上.
        LargeValueRule("LV-PERSON", ("transfer",), ANY_PERSON, 500_000.0, 100_000.0,
                       "003 art.5(3); PBOC Order 2016 No.3"),
        # 003 art. 5(4): natural person, cross-border 人民币20万元以上、外币等值1万美元以上.
        LargeValueRule("LV-PERSON-XB", ("cross_border",), ANY_PERSON, 200_000.0, 10_000.0,
                       "003 art.5(4); PBOC Order 2016 No.3"),
    ),
)

# The 2003 rules quoted in 001 Table 1: PBOC 2003 RMB rules (人民币大额和可疑支付交易报告管理办法)
# and the FX implementing rules (金融机构大额和可疑外匯資金交易報告管理辦法實施細則).
PBOC_2003 = RuleSet(
    name="PBOC-2003",
    description="PBOC 2003 RMB / FX large-value rules as listed in 001 Table 1",
    # The 2003 texts' own deadline is not among the seeds (001 Table 1 lists thresholds only):
    # a retrospective re-scan keeps 003 二㈢'s 5 business days, as flowgraph always counted.
    report_deadline_days=REPORT_DEADLINE_BUSINESS_DAYS,
    report_deadline_unit="business",
    report_deadline_source=REPORT_DEADLINE_SOURCE,
    bank_timezone=BANK_TIMEZONE,  # as PBOC-2016
    rules=(
        # 001 Table 1: RMB cash 单笔20万元以上; FX cash USD 10,000 (suspicious at 8,000 = 80 %).
        LargeValueRule("LV-CASH", ("cash",), ANYONE, 200_000.0, 10_000.0,
                       "001 Table 1; PBOC 2003 RMB rules / FX rules"),
        # 001 Table 1: RMB transfers between units (单位) 100万元以上; FX corporate non-cash
        # USD 480,000 (企业外汇非现金交易 48万美元).
        LargeValueRule("LV-ENTITY", ("transfer", "cross_border"), BOTH_ENTITY,
                       1_000_000.0, 480_000.0, "001 Table 1; PBOC 2003 RMB rules / FX rules"),
        # 001 Table 1: RMB transfers involving personal settlement accounts 20万元以上; FX
        # personal non-cash USD 100,000.
        LargeValueRule("LV-PERSON", ("transfer", "cross_border"), ANY_PERSON,
                       200_000.0, 100_000.0, "001 Table 1; PBOC 2003 RMB rules / FX rules"),
    ),
)

#: Rule-set fields added after run stores were keyed by the rule set's fields, with their
#: defaults: left out of :meth:`RuleSet.to_dict` while they hold them.
FIELDS_ADDED_WITH_DEFAULTS = {"report_deadline_days": REPORT_DEADLINE_BUSINESS_DAYS,
                              "report_deadline_unit": "business", "report_deadline_source": REPORT_DEADLINE_SOURCE,
                              "str_deadline_days": REPORT_DEADLINE_BUSINESS_DAYS, "str_deadline_unit": "business",
                              "str_deadline_source": STR_DEADLINE_SOURCE, "bank_timezone": BANK_TIMEZONE}
#: The same for each large-value rule's fields.
RULE_FIELDS_ADDED_WITH_DEFAULTS = {"record_only": False}

RULE_SET_KEYS = ("name", "description", "based_on", "scale", "home_currency", "foreign_currency", "calendar",
                 "bank_timezone", "large_fraction", "short_term_days", "frequent_txns_per_day",
                 "frequent_consecutive_days", "report_deadline_days", "report_deadline_unit",
                 "report_deadline_source", "str_deadline_days", "str_deadline_unit", "str_deadline_source", "rules")
RULE_KEYS = ("code", "channels", "parties", "threshold_home", "threshold_foreign", "source", "record_only")
#: Rule keys a rule may leave out (their :class:`LargeValueRule` default applies).
OPTIONAL_RULE_KEYS = ("record_only",)


def rule_set_from_table(table: dict, where: str = "[rule_set]") -> RuleSet:
    """A rule set from its TOML table (format: ``README.md``, "Rule sets").

    Either a complete definition (``name``, ``rules`` and any of the :class:`RuleSet`
    fields), or ``based_on`` a built-in name with an optional ``scale`` (every threshold
    multiplied by it) and overrides: any :class:`RuleSet` field, and ``rules`` entries
    that replace the fields they give of the base rule with the same ``code`` (a new
    code adds a rule; its thresholds are not scaled: overrides are exact numbers).

    Parameters
    ----------
    table : dict
        The parsed TOML table.
    where : str
        How a message names the table, e.g. ``"c.toml: [rule_set]"``.

    Raises
    ------
    ConfigError
        An unknown key, a missing one or a bad value, named with its TOML key and the fix.
    """
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table of rule-set keys. Got {table!r} instead.")
    unknown = sorted(set(table) - set(RULE_SET_KEYS), key=str)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {list(RULE_SET_KEYS)}. Fix: correct the "
                          "spelling or remove them.")
    values = dict(table)
    base_name, scale = values.pop("based_on", None), values.pop("scale", None)
    given_rules = values.pop("rules", None)
    if base_name is None:
        if scale is not None:
            raise ConfigError(f"{where}.scale: needs based_on, the built-in rule set to scale. Fix: add e.g. "
                              'based_on = "PBOC-2016".')
        missing = [k for k in ("name", "rules") if k not in table]
        if missing:
            raise ConfigError(f"{where}: a rule set defined from scratch needs {missing}. Fix: add them, or "
                              f'derive it from a built-in with based_on = "PBOC-2016" (built-ins: {sorted(RULE_SETS)}).')
        base_rules: dict[str, LargeValueRule] = {}
    else:
        if not (isinstance(base_name, str) and base_name in RULE_SETS):
            raise ConfigError(f"{where}.based_on: must be a built-in rule set among {sorted(RULE_SETS)}. "
                              f"Got {base_name!r} instead.")
        base = RULE_SETS[base_name]
        if scale is not None:
            if not (isinstance(scale, (int, float)) and not isinstance(scale, bool)
                    and math.isfinite(scale) and scale > 0):
                raise ConfigError(f"{where}.scale: must be a number in the range (0, inf). Got {scale!r} instead.")
            try:
                base = base.scaled(scale)
            except ValueError as exc:
                raise ConfigError(f"{where}.scale: {scale!r} takes a threshold out of range: {exc}") from None
        values.setdefault("name", base.name)
        for key in ("description", "home_currency", "foreign_currency", "calendar", "bank_timezone",
                    "large_fraction", "short_term_days", "frequent_txns_per_day", "frequent_consecutive_days",
                    *(f"{kind}_deadline_{part}" for kind in DEADLINE_KINDS for part in ("days", "unit", "source"))):
            values.setdefault(key, getattr(base, key))
        base_rules = {r.code: r for r in base.rules}
    # a deadline set here cites its own source, never the base's
    for kind, example in (("report", "31 CFR 1010.306(a)(1)"), ("str", "31 CFR 1020.320(b)(3)")):
        if {f"{kind}_deadline_days", f"{kind}_deadline_unit"} & set(table) and f"{kind}_deadline_source" not in table:
            raise ConfigError(f"{where}.{kind}_deadline_source: a rule set that sets its {kind} deadline must cite "
                              f"where it comes from (document and article). Fix: add e.g. {kind}_deadline_source = "
                              f'"{example}".')
    rules = dict(base_rules)
    if given_rules is not None:
        if not (isinstance(given_rules, list) and given_rules):
            raise ConfigError(f"{where}.rules: must be a non-empty array of tables ([[rule_set.rules]]). "
                              f"Got {given_rules!r} instead.")
        given_codes: set = set()
        for i, entry in enumerate(given_rules):
            code = entry.get("code") if isinstance(entry, dict) else None
            rules[code] = _rule_from_table(entry, base_rules.get(code), f"{where}.rules[{i}]")
            if code in given_codes:
                raise ConfigError(f"{where}.rules[{i}].code: {code!r} is given twice. Fix: one entry per rule.")
            given_codes.add(code)
    if isinstance(values.get("home_currency"), str):
        values["home_currency"] = values["home_currency"].strip().upper()
    if isinstance(values.get("foreign_currency"), str):
        values["foreign_currency"] = values["foreign_currency"].strip().upper()
    try:
        rule_set = RuleSet(rules=tuple(rules.values()), **values)
    except ValueError as exc:
        key = re.search(r"The '(\w+)' parameter", str(exc))
        raise ConfigError(f"{where}{'.' + key.group(1) if key else ''}: {exc}") from None
    if rule_set.name in RULE_SETS and rule_set != RULE_SETS[rule_set.name]:
        raise ConfigError(f"{where}.name: {rule_set.name!r} is a built-in rule set, and yours differs from it. "
                          "Fix: give yours its own name, so hits and manifests never confuse the two.")
    check_detector_rules(rule_set, where)
    return rule_set


def _rule_from_table(entry, base: LargeValueRule | None, where: str) -> LargeValueRule:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table of {list(RULE_KEYS)}. Got {entry!r} instead.")
    unknown = sorted(set(entry) - set(RULE_KEYS), key=str)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {list(RULE_KEYS)}.")
    values = dataclasses.asdict(base) if base is not None else {}
    values.update(entry)
    missing = [k for k in RULE_KEYS if k not in values and k not in OPTIONAL_RULE_KEYS]
    if missing:
        raise ConfigError(f"{where}: rule {entry.get('code')!r} lacks {missing}. Fix: add them (each threshold "
                          "with its source).")
    if not (isinstance(values["code"], str) and values["code"].strip()):
        raise ConfigError(f"{where}.code: must be a non-empty str. Got {values['code']!r} instead.")
    if isinstance(values["channels"], str) or not isinstance(values["channels"], (list, tuple)):
        raise ConfigError(f"{where}.channels: must be an array of channels among {list(CHANNELS)}, e.g. "
                          f'["cash"]. Got {values["channels"]!r} instead.')
    values["channels"] = tuple(values["channels"])
    if not (isinstance(values["source"], str) and values["source"].strip()):
        raise ConfigError(f"{where}.source: must cite where the threshold comes from (document and article). "
                          f"Got {values['source']!r} instead.")
    try:
        return LargeValueRule(**values)
    except ValueError as exc:
        key = re.search(r"The '(\w+)' parameter", str(exc))
        raise ConfigError(f"{where}{'.' + key.group(1) if key else ''}: {exc}") from None


def check_detector_rules(rule_set: RuleSet, where: str) -> None:
    """Raise unless ``rule_set`` has the rules the detectors read (:data:`DETECTOR_RULE_CODES`)."""
    missing = [c for c in DETECTOR_RULE_CODES if c not in {r.code for r in rule_set.rules}]
    if missing:
        raise ConfigError(f"{where}: rule set {rule_set.name!r} lacks the rule(s) {missing}, which the detectors "
                          "read as Φ of cash, of a person's and of an entity's transfers. Fix: add them "
                          "([[rule_set.rules]] with code = ...), each with its threshold and source.")


def read_rule_set_file(path: str | Path) -> RuleSet:
    """A rule set from a TOML file whose top-level keys are those of ``[rule_set]``
    (:func:`rule_set_from_table`); e.g. ``flowgraph/rulesets/us-bsa.toml``.

    Raises
    ------
    ConfigError
        Unreadable file or bad content, naming the file and the key.
    """
    path = Path(path)
    table = read_toml(path, f"rule_set_file {str(path)!r}",
                      "check the path (relative paths are relative to the configuration file's folder).")
    if "rule_set" in table:
        raise ConfigError(f"rule_set_file {str(path)!r}: has a [rule_set] table. Fix: write the rule set's keys at "
                          "the top level of this file (no [rule_set] header; rules as [[rules]]).")
    return rule_set_from_table(table, f"rule_set_file {str(path)!r}")


#: Rule sets by name; ``PBOC-2016`` is the default.
RULE_SETS: dict[str, RuleSet] = {r.name: r for r in (PBOC_2016, PBOC_2003)}
DEFAULT_RULE_SET = PBOC_2016


def _packaged_rule_sets() -> None:
    """Add the example rule sets shipped in ``flowgraph/rulesets/`` to :data:`RULE_SETS`."""
    for ref in sorted(resources.files("flowgraph").joinpath("rulesets").iterdir(), key=lambda r: r.name):
        if ref.name.endswith(".toml"):
            with resources.as_file(ref) as path:
                rule_set = read_rule_set_file(path)
            RULE_SETS[rule_set.name] = rule_set


_packaged_rule_sets()


def get_rule_set(name: str | RuleSet) -> RuleSet:
    """Look a rule set up by name (a :class:`RuleSet` is returned as it is).

    Raises
    ------
    ConfigError
        An unknown name; the message lists the known ones.
    """
    if isinstance(name, RuleSet):
        return name
    if not isinstance(name, str) or name not in RULE_SETS:
        raise ConfigError(f"unknown rule set {name!r}; known: {sorted(RULE_SETS)}. Fix: use one of those, "
                          "or define your own in the configuration ([rule_set] table or rule_set_file).")
    return RULE_SETS[name]


# -- human-trafficking typology pack (000, SPEC §9) --------------------------------------

#: Amount (major units, per currency) at or above which a one-off cash service obliges the
#: bank to identify the customer: CNY 50,000 or the equivalent of USD 10,000 (PBOC/CBIRC/CSRC
#: Order 2022 No. 1 on customer due diligence, art. 8; the same levels as the cash
#: large-value report, SPEC §2 LV-CASH, 003 art. 5(1)). 000 names the red flag
#: "repeated small cash withdrawals ... so as to avoid being asked for identification or
#: reported". A currency not listed here uses the scan rule set's LV-CASH threshold.
CASH_IDENTIFICATION_LEVELS: dict[str, float] = {"CNY": 50_000.0, "USD": 10_000.0}

#: Countries (ISO 3166-1 alpha-2) whose remittances count as going to a "risk" country
#: (000: "frequent remittances to 'risk' countries"): FATF, "High-Risk Jurisdictions subject
#: to a Call for Action" (public statements of February and October 2024): the Democratic
#: People's Republic of Korea, Iran and Myanmar. A bank adds its own list (e.g. the FATF
#: "increased monitoring" list) through the detector's ``countries`` parameter.
HIGH_RISK_COUNTRIES: tuple[str, ...] = ("KP", "IR", "MM")
