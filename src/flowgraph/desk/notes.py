"""Analysts' notes in de-identified outputs (SPEC §7).

A disposition note is free text: an analyst may name any customer, account or transaction
in it, not only the alert's own. In the case file and the STR draft made without
``reveal_ids`` every id of the note the run store knows becomes its pseudonym (a hit's
subject or customer, a kept account or its customer; the same pseudonym the
output shows elsewhere), a transaction id the store knows stays as written (outputs show
transaction ids in the clear), and any other token that looks like an id is masked
(:func:`looks_like_id`): a note may name an account the store never saw. With
``reveal_ids`` the note is shown as written.
"""

from __future__ import annotations

import json
import re

from ..deid import PREFIX
from .evidence import case_accounts, case_transactions, has_case_transactions

#: A token of a note: ASCII letters and digits, joined by ``-`` or ``_`` (ids sit in
#: Chinese text without spaces: 客户C00000114账户6222…).
TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")
#: Where an id token may begin and end: not inside a longer run of letters and digits, and
#: not in a number: ``472`` is no id in ``472.82``, ``1,472`` or ``4720`` (AMLSim ids are
#: such small integers), but it is in ``#472`` and at the end of a sentence (``472.``). So
#: ``472,473`` reads as a number; ids listed with a space after the comma are each masked.
ID_START, ID_END = r"(?<![A-Za-z0-9])(?<!\d[.,])", r"(?![A-Za-z0-9])(?![.,]\d)"
#: A date (or the date and hour of a time) is not an id.
DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2}(?:T\d{2})?)?")
#: Shortest run of digits, and shortest token with at least :data:`MIN_ID_DIGITS` digits,
#: taken for an id.
MIN_DIGIT_RUN, MIN_ID_LENGTH, MIN_ID_DIGITS = 6, 6, 4
#: What a masked token is shown as.
MASK = "[id masked]"
#: Said wherever a de-identified note differs from what the analyst wrote.
DEIDENTIFIED = (f"The analyst's note is de-identified: ids the run store knows are shown as their pseudonyms, other "
                f"id-like tokens as {MASK}; --reveal-ids shows it as written.")


def looks_like_id(token: str) -> bool:
    """Whether a token of a note could be an id: a run of :data:`MIN_DIGIT_RUN` digits, or
    :data:`MIN_ID_LENGTH` characters with :data:`MIN_ID_DIGITS` digits (not a date)."""
    if DATE.fullmatch(token):
        return False
    return (re.search(rf"\d{{{MIN_DIGIT_RUN}}}", token) is not None
            or (len(token) >= MIN_ID_LENGTH and sum(c.isdigit() for c in token) >= MIN_ID_DIGITS))


def known_ids(store, note: str) -> dict[str, str]:
    """The tokens of ``note`` the run store knows, with their kind: ``account``,
    ``customer`` (a hit's subject or customer; a kept account or its customer)
    or ``transaction`` (a kept transaction)."""
    tokens = set(TOKEN.findall(note))
    tokens |= {part for t in tokens for part in re.split(r"[-_]", t)}
    if not tokens:
        return {}
    found = {t: "transaction" for t in case_transactions(store, txn_ids=tokens)["txn_id"]}
    if has_case_transactions(store):
        kept = case_accounts(store)
        found.update({a: "account" for a in kept["account_id"] if a in tokens})
        found.update({c: "customer" for c in kept["customer_id"].dropna() if c in tokens})
    # subjects and customers by the run store's indexes (a look into every hit's accounts
    # took seconds on 2.2 M hits): a counterparty is a kept account above, or masked below
    rows = store.conn.execute(
        "WITH wanted(id) AS (SELECT value FROM json_each(?)), configs(c) AS (SELECT DISTINCT config_hash FROM runs) "
        "SELECT h.subject, 'account' FROM hits h WHERE h.config_hash IN configs AND h.subject IN wanted "
        "UNION SELECT h.customer, 'customer' FROM hits h WHERE h.config_hash IN configs AND h.customer IN wanted",
        [json.dumps(sorted(tokens))]).fetchall()
    found.update(dict(rows))
    return found


def deidentify_note(note: str, known: dict[str, str], name) -> str:
    """``note`` with each id of ``known`` (id -> kind) named by ``name(id, kind)`` (a
    transaction id stays), also where it is joined to another token by ``-`` or ``_``, and
    every other token that :func:`looks_like_id` masked; one pass, longest id first, so an
    id inside another is not replaced on its own and no pseudonym is read again. Only whole
    tokens between :data:`ID_START` and :data:`ID_END` are read: the digits of an amount
    stay as written."""
    ids = "|".join(re.escape(i) for i in sorted(known, key=len, reverse=True))
    pattern = re.compile(rf"{ID_START}(?:" + (rf"(?:{ids}){ID_END}|" if ids else "") + rf"{TOKEN.pattern}{ID_END})")

    def shown(token: str) -> str:
        kind = known.get(token)
        if kind is not None:
            return name(token, kind) if kind in PREFIX else token
        parts = re.split(r"([-_])", token)  # parts, then the joints between them
        if any(p in known for p in parts[::2]):
            return "".join(p if i % 2 else shown(p) for i, p in enumerate(parts))
        return MASK if looks_like_id(token) else token

    return pattern.sub(lambda m: shown(m.group(0)), note)


def deidentify_notes(store, notes: list[str], name, own_ids: dict[str, str]) -> list[str]:
    """Notes as a de-identified output shows them (:func:`deidentify_note`), with the ids
    the store knows and the alert's own ``own_ids`` (id -> kind)."""
    known = {**known_ids(store, "\n".join(notes)), **own_ids}
    return [deidentify_note(n, known, name) for n in notes]
