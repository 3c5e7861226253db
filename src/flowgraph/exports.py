"""What a scan leaves for other tools: ``hits.parquet``, ``alerts.parquet`` and
``manifest.json`` (SPEC §10).

Each table has one Arrow schema, so a scan that finds nothing still writes both files
with every column and its type: a downstream job never meets a file without columns.
Exports show keyed pseudonyms instead of account and customer ids (SPEC §7) unless the
user asked for real ids, which the store's audit table records.

The three files are moved into place together, the manifest last, once the run is
recorded complete (:func:`staged_exports`): a scan that fails (a full disk, a store that
cannot grow) leaves none of its exports in the output folder, and an earlier complete
run's there as they were, so a downstream job never takes a failed run's hits for
results. ``manifest.json`` says a set is complete: a process killed (kill -9) while the
files move may leave a set without one (and hidden ``.NAME.RANDOM.tmp`` files), never a
manifest beside files of another run.
"""

from __future__ import annotations

import errno
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ._files import StagedFiles
from .deid import Pseudonymizer, deidentify, load_key
from .errors import ConfigError, DataError
from .store import Store

_TEXT, _IDS = pa.string(), pa.list_(pa.string())
_DAY = pa.timestamp("ns")

#: hits.parquet: the SPEC §10 columns, the run that found the hit, Φ per method and the
#: detector's measures (JSON text), ``in_band`` for hits found only in the tolerance band,
#: the run of qualifying days and the last business day the scan that made this version saw.
#: A hit is scored as part of its alert (:mod:`flowgraph.alerts`): ``score`` is the score of
#: the alert group that holds it, ``alert_id`` that group's id (the row of alerts.parquet);
#: both null for a hit no exported alert holds (:func:`hit_alert_scores`).
HIT_SCHEMA = pa.schema([
    ("hit_id", _TEXT), ("run_id", _TEXT), ("detector", _TEXT), ("typology", _TEXT), ("params_id", _TEXT),
    ("subject", _TEXT), ("customer", _TEXT), ("accounts", _IDS), ("txn_ids", _IDS),
    ("window_start", _DAY), ("window_end", _DAY), ("n_accounts", pa.int64()), ("n_days", pa.int64()),
    ("amount", pa.float64()), ("phi", _TEXT), ("w", pa.float64()), ("ceiling", pa.float64()),
    ("utilisation", pa.float64()), ("score", pa.float64()), ("alert_id", _TEXT), ("in_band", pa.bool_()),
    ("measures", _TEXT),
    ("run_first", _DAY), ("run_last", _DAY), ("seen_through", _TEXT),
])

#: alerts.parquet: one row per alert (see :func:`flowgraph.alerts.build_alerts`).
ALERT_SCHEMA = pa.schema([
    ("alert_id", _TEXT), ("customer", _TEXT), ("subject", _TEXT), ("score", pa.float64()), ("raised", pa.bool_()),
    ("window_start", _DAY), ("window_end", _DAY), ("n_hits", pa.int64()), ("hit_ids", _IDS),
    ("utilisation", pa.float64()), ("explanation", _TEXT), ("contributions", _TEXT),
])


def arrow_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame`` as an Arrow table with ``schema``'s columns first, each of its type (an
    empty frame gives an empty table with every column); other columns follow as they are."""
    columns = {f.name: pa.array(frame[f.name] if f.name in frame.columns and len(frame) else [], type=f.type,
                                from_pandas=True) for f in schema}
    extra = {c: pa.array(frame[c], from_pandas=True) for c in frame.columns if c not in columns}
    return pa.table({**columns, **extra})


#: The files of a run's exports in its output folder.
EXPORT_FILES = {"hits": "hits.parquet", "alerts": "alerts.parquet", "manifest": "manifest.json"}


def hit_alert_scores(hit_ids, alerts: pd.DataFrame) -> pd.DataFrame:
    """Per hit id of ``hit_ids``, in order, the ``alert_id`` and ``score`` of the alert of
    ``alerts`` (:func:`flowgraph.alerts.build_alerts` rows) whose ``hit_ids`` hold it; both
    null for a hit no alert holds.

    Raises
    ------
    DataError
        A hit held by two alerts: alerts partition their monitoring unit's hits, so the
        scan found that hit twice, which only a transaction read twice makes (a transaction
        store's day file holding its rows twice: its rows were validated once, at ingest,
        and are not read again as a file's are). Nothing is exported (exit 3).
    """
    held = pa.array(alerts["hit_ids"] if len(alerts) else [], pa.list_(pa.string()), from_pandas=True)
    member = held.flatten().to_numpy(zero_copy_only=False)
    owner = pc.list_parent_indices(held).to_numpy(zero_copy_only=False)
    members = pd.Index(member)
    if not members.is_unique:
        twice = sorted(set(members[members.duplicated()]))
        raise DataError(f"hit(s) {twice[:5]} were found twice: the transactions this scan read hold some "
                        "transaction twice (in a transaction store, a day file holding its rows twice, e.g. "
                        "restored over itself or from an old backup beside its corrected copy); nothing was "
                        "exported. Fix: restore the store's day files from a backup, or ingest the input files "
                        "again into a new store (flowgraph ingest INPUT --into NEW_STORE), then scan again.")
    at = members.get_indexer(pd.Index(np.asarray(hit_ids, dtype=object)))
    found = at >= 0
    group = owner[at[found]]  # the row of ``alerts`` holding each hit found
    alert_id, score = np.full(len(at), None, dtype=object), np.full(len(at), np.nan)
    alert_id[found] = alerts["alert_id"].to_numpy(dtype=object)[group]
    score[found] = alerts["score"].to_numpy(dtype=float)[group]
    return pd.DataFrame({"alert_id": alert_id, "score": score})


def export_tables(hits: pd.DataFrame, alerts: pd.DataFrame, reveal_ids: bool, key_file,
                  pseudonymizer: Pseudonymizer | None = None) -> dict[str, pa.Table]:
    """The run's hits and alerts as the Arrow tables :func:`write_exports` writes:
    de-identified with the pseudonym key unless ``reveal_ids``. Each hit carries the id and
    score of the alert of ``alerts`` that holds it (:func:`hit_alert_scores`). A caller
    exporting a run part by part passes one ``pseudonymizer`` (of the key) for every part:
    an id is then keyed once, not once per part."""
    scored = hit_alert_scores(hits["hit_id"].to_numpy(dtype=object) if len(hits) else [], alerts)
    hits_out = hits.drop(columns=["config_hash", "alert_id", "score"], errors="ignore").assign(
        alert_id=scored["alert_id"].to_numpy(), score=scored["score"].to_numpy())
    alerts_out = alerts
    if not reveal_ids:
        pseudo = pseudonymizer or Pseudonymizer(load_key(key_file))
        hits_out = deidentify(hits_out, pseudo)
        alerts_out = deidentify(alerts_out, pseudo)
    return {"hits": arrow_table(hits_out, HIT_SCHEMA), "alerts": arrow_table(alerts_out, ALERT_SCHEMA)}


@contextmanager
def staged_exports(out: Path) -> Iterator[StagedFiles]:
    """The exports of a run into ``out``, staged beside their paths: the caller writes them
    (:func:`write_tables`, :func:`write_exports`), records the run complete in its store and
    only then calls ``commit()``, which moves them into place together, ``manifest.json``
    last (:class:`flowgraph._files.StagedFiles` says why that is crash-safe). Whatever
    ends the block before the commit (an error of the detectors, the store or a write)
    removes what was staged: ``out`` keeps an earlier complete run's exports, with their
    manifest, as they were, and the run store keeps every chunk committed, so running the
    same command again resumes.

    Raises
    ------
    ConfigError
        An export could not be written or moved into place (a full disk, a read-only
        folder): naming it and the fix.
    """
    files = StagedFiles(out / EXPORT_FILES["manifest"])
    exports = {out / name for name in EXPORT_FILES.values()}
    try:
        with files:
            yield files
    except OSError as exc:
        if exc.filename is None or Path(exc.filename) not in exports:
            raise  # another file's error names that file
        raise export_error(Path(exc.filename), exc, files.committing) from None


def export_error(path: Path, exc: OSError, committing: bool) -> ConfigError:
    """The error for export ``path`` that could not be written (or, ``committing``, moved
    into place): what the system said, and the fix for it."""
    folder = path.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = f"free space on the file system holding {folder} (or give another --out)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"make {folder} writable (or give another --out)"
    else:
        fix = f"check that the device holding {folder} is available"
    if committing:  # the run store recorded the run complete: a new run of the same days makes them again
        after = ("the run store holds this run's results, and the scan runs again to write its exports; "
                 f"{folder} holds none of them now")
    else:
        after = (f"the scan resumes after its last committed chunk. This run left no export in {folder}; an "
                 "earlier run's exports there are as they were")
    return ConfigError(f"{path}: cannot be written ({exc.strerror or exc}). Fix: {fix}, then run the same command "
                       f"again: {after}.")


def write_tables(files: StagedFiles, out: Path, tables: dict[str, pa.Table], private: bool) -> None:
    """``hits.parquet`` and ``alerts.parquet`` (:func:`export_tables`) staged for ``out``
    (:func:`staged_exports`); owner-only when ``private`` (real ids), shareable when
    pseudonymised."""
    for name in ("hits", "alerts"):
        files.stage(out / EXPORT_FILES[name], lambda p, t=tables[name]: pq.write_table(t, p), private=private)


def write_exports(store: Store, files: StagedFiles, out: Path, tables: dict[str, pa.Table] | None, manifest: dict,
                  reveal_ids: bool) -> dict:
    """Stage the run's exports for ``out`` (:func:`staged_exports`; ``tables`` from
    :func:`export_tables`, ``None``: staged already by :func:`write_tables`) and, last, its
    manifest; writing real ids is logged in the store's audit table first. The caller
    commits them once the run is recorded complete.

    Returns
    -------
    dict of name -> path the file will have
    """
    if tables is not None:
        if reveal_ids:
            store.audit("export_real_ids", json.dumps({"out": str(out), "run_id": manifest["run_id"],
                                                       "hits": len(tables["hits"]), "alerts": len(tables["alerts"])}))
        write_tables(files, out, tables, private=reveal_ids)
    paths = {name: out / file for name, file in EXPORT_FILES.items()}
    files.stage(paths["manifest"], lambda p: p.write_text(json.dumps(manifest, indent=2, default=str)), private=False)
    return paths
