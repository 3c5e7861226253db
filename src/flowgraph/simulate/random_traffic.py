"""Structureless random traffic: accounts paying each other at random.

No typology is planted and nothing here is a ground truth: it exists to measure the
ingest and graph build at any size, to exercise validation, and to give the demo a
dataset. Everything is vectorised and a function of ``seed`` alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def random_transactions(n_txns: int, n_accounts: int = 10_000, start: str = "2024-09-02",
                        n_calendar_days: int = 90, seed: int = 0, cash_share: float = 0.08,
                        foreign_share: float = 0.04, entity_share: float = 0.15,
                        accounts_per_customer: float = 1.3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random canonical transactions and their accounts table.

    Parameters
    ----------
    n_txns, n_accounts : int
        Table sizes.
    start : str
        First calendar date; timestamps fall on any day of the following
        ``n_calendar_days`` (weekends and holidays included, to exercise the roll-over).
    seed : int
        The only source of randomness.
    cash_share, foreign_share, entity_share : float
        Fractions of cash transactions, foreign-currency transfers and entity accounts.
    accounts_per_customer : float
        Mean number of accounts per customer.

    Returns
    -------
    transactions, accounts : DataFrame
        Canonical columns (see :mod:`flowgraph.schema`), not yet validated.
    """
    rng = np.random.default_rng(seed)
    n_customers = max(1, int(n_accounts / accounts_per_customer))
    customer_of = np.sort(rng.integers(0, n_customers, n_accounts))
    customer_of[: min(n_customers, n_accounts)] = np.arange(min(n_customers, n_accounts))
    is_entity_customer = rng.random(n_customers) < entity_share
    account_names = pd.Series(np.arange(n_accounts)).map("A{:07d}".format)
    accounts = pd.DataFrame({
        "account_id": account_names,
        "customer_id": pd.Series(customer_of).map("C{:07d}".format),
        "party_type": np.where(is_entity_customer[customer_of], "entity", "person"),
    })

    # heavy-tailed activity: a few accounts are far busier than most
    weight = rng.pareto(1.5, n_accounts) + 1.0
    weight /= weight.sum()
    src = rng.choice(n_accounts, n_txns, p=weight)
    dst = rng.choice(n_accounts, n_txns, p=weight)
    day = rng.integers(0, n_calendar_days, n_txns)
    seconds = rng.integers(8 * 3600, 20 * 3600, n_txns)
    timestamp = (np.datetime64(start, "s") + day * 86400 + seconds).astype("datetime64[ns]")
    order = np.argsort(timestamp, kind="stable")

    kind = rng.random(n_txns)
    is_cash = kind < cash_share
    is_foreign = (kind >= cash_share) & (kind < cash_share + foreign_share)
    channel = np.where(is_cash, "cash", np.where(is_foreign, "cross_border", "transfer"))
    currency = np.where(is_foreign, rng.choice(["USD", "EUR", "HKD"], n_txns), "CNY")
    amount = np.round(np.exp(rng.normal(8.0, 1.6, n_txns)), 2) + 0.01
    amount = np.where(is_foreign, np.round(amount / 7.0, 2) + 0.01, amount)

    # cash: deposit (no source) or withdrawal (no destination)
    deposit = is_cash & (rng.random(n_txns) < 0.5)
    withdrawal = is_cash & ~deposit
    src_name = account_names.to_numpy(dtype=object)[src]
    dst_name = account_names.to_numpy(dtype=object)[dst]
    src_name[deposit] = None
    dst_name[withdrawal] = None

    txns = pd.DataFrame({
        "txn_id": pd.Series(np.arange(n_txns)).map("T{:010d}".format).to_numpy(dtype=object)[order],
        "timestamp": timestamp[order],
        "src_account": pd.array(src_name[order], dtype="string"),
        "dst_account": pd.array(dst_name[order], dtype="string"),
        "amount": amount[order],
        "currency": currency[order],
        "channel": channel[order],
    })
    return txns, accounts
