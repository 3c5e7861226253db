"""Reference for :func:`flowgraph._kernels.runs.day_runs`: sort each account's and key's
days, cut them where a day is missing or a period changes, and take the best day of each
piece by a plain ``max`` over (score, tiebreak, -day)."""


def day_runs_reference(rows_by_account, period_of):
    """Runs from ``rows_by_account[a]``: lists of (key, day, score, tiebreak) rows;
    ``period_of(day)`` names a day's period.

    Returns
    -------
    list of (account, key, first_day, last_day, best_day), sorted
    """
    out = []
    for a, rows in enumerate(rows_by_account):
        for key in sorted({r[0] for r in rows}):
            mine = sorted((r for r in rows if r[0] == key), key=lambda r: r[1])
            pieces = [[mine[0]]] if mine else []
            for r in mine[1:]:
                if r[1] == pieces[-1][-1][1] + 1 and period_of(r[1]) == period_of(pieces[-1][-1][1]):
                    pieces[-1].append(r)
                else:
                    pieces.append([r])
            for piece in pieces:
                best = max(piece, key=lambda r: (r[2], r[3], -r[1]))
                out.append((a, key, piece[0][1], piece[-1][1], best[1]))
    return sorted(out)


def periods(starts, n_days):
    """Periods that begin on the days ``starts`` (and day 0): the kernels' ``period_last``
    over ``n_days`` days, and the reference's ``period_of(day)`` (how many starts are at or
    before the day)."""
    starts = sorted(set(starts) | {0})
    period_of = lambda day: sum(s <= day for s in starts)
    period_last = [max(d for d in range(n_days) if period_of(d) == period_of(day)) for day in range(n_days)]
    return period_last, period_of
