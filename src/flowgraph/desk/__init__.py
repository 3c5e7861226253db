"""The investigator's desk: the alert queue, the case file and the transactions it shows.

- :func:`alert_queue` / :class:`QueueQuery` (``flowgraph alerts``): a run store's alerts
  as a work list, filtered and sorted, de-identified by default;
- :func:`case_file` / :func:`write_case_file` (``flowgraph show``): one alert as one
  self-contained HTML page;
- :func:`keep_case_transactions` / :func:`case_transactions`: the transactions a scan
  keeps in its store so that the case file can show and draw them;
- :mod:`.reports` (``flowgraph report-draft``): the large-value reports due
  (:mod:`.large_value`) and suspicious-transaction report drafts (:mod:`.str_draft`),
  their Markdown tables from :mod:`.markdown`.
"""

from .casefile import case_file, write_case_file
from .evidence import case_transactions, keep_case_transactions
from .queue import QueueQuery, alert_queue

__all__ = ["alert_queue", "QueueQuery", "case_file", "write_case_file", "case_transactions", "keep_case_transactions"]
