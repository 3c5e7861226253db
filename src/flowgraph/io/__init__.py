"""Readers and format adapters: everything here returns canonical, validated tables."""

from .amlsim import read_amlsim
from .amlworld import read_amlworld
from .csvfile import RawTable, read_csv_table
from .load import check_some_accepted, load_dataset, write_dataset, write_rejects
from .readers import Dataset, read_accounts, read_raw, read_transactions

__all__ = ["Dataset", "RawTable", "read_raw", "read_csv_table", "read_transactions", "read_accounts",
           "read_amlworld", "read_amlsim", "load_dataset", "write_dataset", "write_rejects",
           "check_some_accepted"]
