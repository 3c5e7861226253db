"""Exceptions that the command line maps to exit codes (SPEC §10)."""

from __future__ import annotations


class FlowgraphError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""

    exit_code = 1


class ConfigError(FlowgraphError, ValueError):
    """Bad usage, parameter or configuration (exit code 2)."""

    exit_code = 2


class DataError(FlowgraphError, ValueError):
    """Input data that cannot be read as a whole (exit code 3).

    Row-level problems never raise: those rows go to the rejects table with a reason.
    """

    exit_code = 3
