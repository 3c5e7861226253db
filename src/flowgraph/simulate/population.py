"""A synthetic bank's customers and accounts.

Natural persons hold one or two accounts; entities (companies, merchants, utilities)
one to three. A share of the persons are set aside as the pool from which launderers
recruit their accounts ("mules"): students and people without a salary, whose ordinary
activity is small card and bill payments, so that an adaptive launderer can keep every
rule of SPEC §2 with a known margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# segment codes
PERSON, MULE, COMPANY, MERCHANT, UTILITY = 0, 1, 2, 3, 4
SEGMENTS = ("person", "mule_pool", "company", "merchant", "utility")


@dataclass(frozen=True)
class Population:
    """Customers and accounts as arrays (dense indices), plus their user-facing ids."""

    customer_segment: np.ndarray     # int8 per customer, a segment code
    account_customer: np.ndarray     # int64 per account
    primary_account: np.ndarray      # int64 per customer: its first account
    employer: np.ndarray             # int64 per customer: employer's customer index, -1 none
    account_ids: np.ndarray          # object[str]
    customer_ids: np.ndarray         # object[str]

    @property
    def n_customers(self) -> int:
        return len(self.customer_segment)

    def customers_of(self, segment: int) -> np.ndarray:
        return np.flatnonzero(self.customer_segment == segment)

    def accounts_table(self) -> pd.DataFrame:
        """The canonical accounts table (``account_id, customer_id, party_type``) plus the
        simulator's ``segment``."""
        seg = self.customer_segment[self.account_customer]
        return pd.DataFrame({
            "account_id": self.account_ids,
            "customer_id": self.customer_ids[self.account_customer],
            "party_type": np.where(seg <= MULE, "person", "entity"),
            "segment": np.array(SEGMENTS, dtype=object)[seg],
        })


def make_population(n_customers: int, rng: np.random.Generator, entity_share: float = 0.08,
                    mule_pool_share: float = 0.15) -> Population:
    """Draw customers, their segments, accounts and employers.

    Parameters
    ----------
    n_customers : int
        Customers in all (≥ 50).
    rng : numpy Generator
    entity_share : float
        Share of entities among customers.
    mule_pool_share : float
        Share of persons set aside as the launderers' recruiting pool.
    """
    if n_customers < 50:
        raise ValueError(f"The 'n_customers' parameter must be an int in the range [50, inf). Got {n_customers!r} instead.")
    n_entities = max(6, int(round(n_customers * entity_share)))
    n_persons = n_customers - n_entities
    n_utilities = max(1, n_entities // 40)
    n_merchants = max(2, int(0.4 * n_entities))
    segment = np.empty(n_customers, dtype=np.int8)
    segment[:n_persons] = PERSON
    segment[n_persons:n_persons + n_utilities] = UTILITY
    segment[n_persons + n_utilities:n_persons + n_utilities + n_merchants] = MERCHANT
    segment[n_persons + n_utilities + n_merchants:] = COMPANY
    segment[:n_persons][rng.random(n_persons) < mule_pool_share] = MULE
    # shuffle so that ids say nothing about segments
    segment = segment[rng.permutation(n_customers)]

    is_person = segment <= MULE
    n_accounts = np.where(is_person, 1 + (rng.random(n_customers) < 0.3),
                          1 + np.minimum(rng.poisson(0.8, n_customers), 2)).astype(np.int64)
    account_customer = np.repeat(np.arange(n_customers), n_accounts)
    primary = np.concatenate([[0], np.cumsum(n_accounts)[:-1]])

    employers = np.flatnonzero((segment == COMPANY) | (segment == MERCHANT))
    size = rng.pareto(1.2, len(employers)) + 1.0
    employer = np.full(n_customers, -1, dtype=np.int64)
    employed = (segment == PERSON) & (rng.random(n_customers) < 0.85)
    employer[employed] = employers[rng.choice(len(employers), int(employed.sum()), p=size / size.sum())]

    account_ids = pd.Series(np.arange(len(account_customer))).map("6222{:012d}".format).to_numpy(dtype=object)
    customer_ids = pd.Series(np.arange(n_customers)).map("C{:08d}".format).to_numpy(dtype=object)
    return Population(segment, account_customer, primary, employer, account_ids, customer_ids)
