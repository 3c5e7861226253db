"""The one place where regulatory numbers live.

Every threshold below is the default of a named parameter and carries its source:
the seed documents in ``../shared/seeds/`` (cited by file name) and ``SPEC.md``.
A scan picks a rule set by name (:data:`RULE_SETS`); a user may build another with
:class:`RuleSet` and :class:`LargeValueRule`.

Money is float64 in major units (yuan, dollars), rounded to the cent after any
currency conversion (see :mod:`flowgraph.money`). "At or above" (以上) is inclusive:
an amount equal to a threshold meets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError

#: Transaction methods (channels) of the canonical table. ``cash`` covers cash deposit,
#: withdrawal, exchange, remittance and bills paid in cash (003, art. 5(1));
#: ``cross_border`` is a transfer with one side abroad (003, art. 5(4)).
CHANNELS: tuple[str, ...] = ("cash", "transfer", "cross_border")

#: Party types of an account holder. "entity" covers legal persons, other
#: organisations and sole proprietors (个体工商户), as in 003 art. 5(2).
PARTY_TYPES: tuple[str, ...] = ("person", "entity")

#: The home currency: large-value rules compare CNY amounts to the CNY threshold and
#: foreign-currency amounts, converted to USD, to the USD threshold (003, art. 5).
HOME_CURRENCY = "CNY"

# Who must be a party for a rule to apply.
ANY_PERSON = "any_person"  # a natural person on at least one side
BOTH_ENTITY = "both_entity"  # legal persons / organisations / sole proprietors on both sides
ANYONE = "anyone"


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
    threshold_cny : float
        Threshold for CNY transactions, yuan.
    threshold_usd : float
        Threshold for foreign-currency transactions, USD equivalent.
    source : str
        Document and article the numbers come from.
    """

    code: str
    channels: tuple[str, ...]
    parties: str
    threshold_cny: float
    threshold_usd: float
    source: str

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
        for name in ("threshold_cny", "threshold_usd"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(
                    f"The '{name}' parameter of LargeValueRule {self.code!r} must be a float "
                    f"in the range (0, inf). Got {value!r} instead."
                )


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
    """

    name: str
    rules: tuple[LargeValueRule, ...]
    large_fraction: float = 0.8
    short_term_days: int = 10
    frequent_txns_per_day: int = 3
    frequent_consecutive_days: int = 3
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.large_fraction <= 1:
            raise ValueError(
                "The 'large_fraction' parameter of RuleSet must be a float in the range (0, 1]. "
                f"Got {self.large_fraction!r} instead."
            )
        for name in ("short_term_days", "frequent_txns_per_day", "frequent_consecutive_days"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(
                    f"The '{name}' parameter of RuleSet must be an int in the range [1, inf). "
                    f"Got {value!r} instead."
                )
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
        rules = tuple(
            LargeValueRule(r.code, r.channels, r.parties, r.threshold_cny * factor,
                           r.threshold_usd * factor, f"{r.source}; scaled x{factor:g}")
            for r in self.rules
        )
        return RuleSet(name or f"{self.name}x{factor:g}", rules, self.large_fraction,
                       self.short_term_days, self.frequent_txns_per_day,
                       self.frequent_consecutive_days, self.description)


# PBOC Order 2016 No.3 (金融机构大额交易和可疑交易报告管理办法), art. 5; 003 and 001 Table 1.
PBOC_2016 = RuleSet(
    name="PBOC-2016",
    description="PBOC Order 2016 No.3, in force 2017-07-01 (003 art. 5)",
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

#: Rule sets by name; ``PBOC-2016`` is the default.
RULE_SETS: dict[str, RuleSet] = {r.name: r for r in (PBOC_2016, PBOC_2003)}
DEFAULT_RULE_SET = PBOC_2016


def get_rule_set(name: str) -> RuleSet:
    """Look a rule set up by name.

    Raises
    ------
    ConfigError
        An unknown name; the message lists the known ones.
    """
    if not isinstance(name, str) or name not in RULE_SETS:
        raise ConfigError(f"unknown rule set {name!r}; known: {sorted(RULE_SETS)}. Fix: use one of those, "
                          "or register your own RuleSet in flowgraph.config.RULE_SETS.")
    return RULE_SETS[name]
