"""Readers and format adapters: everything here returns canonical, validated tables."""

from .amlsim import read_amlsim
from .amlworld import read_amlworld
from .load import load_dataset, write_dataset
from .readers import Dataset, read_accounts, read_raw, read_transactions

__all__ = ["Dataset", "read_raw", "read_transactions", "read_accounts", "read_amlworld",
           "read_amlsim", "load_dataset", "write_dataset"]
