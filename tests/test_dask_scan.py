"""Range scans of a transaction store and the Dask scan (issue 14 item 3): the same hits and
alerts as a scan in one process, runs that cross block boundaries included, when a worker
dies mid-scan too; the single-machine path never imports Dask; Dask missing or a bad
scheduler address exit 2 with the fix."""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from flowgraph.cli import main
from flowgraph.io import load_dataset
from flowgraph.graph import build_graph
from flowgraph.scan import run_scan, scan_hits, store_scan_days, store_window
from flowgraph.scan_config import ScanConfig
from flowgraph.simulate import simulate, write_simulation
from flowgraph.txstore import TransactionStore

SAME = ["hit_id", "typology", "subject", "accounts", "txn_ids", "window_start", "window_end", "run_first",
        "run_last", "amount", "utilisation", "in_band", "measures"]
ALERTS = ["alert_id", "customer", "subject", "score", "raised", "window_start", "window_end", "n_hits", "hit_ids"]
#: 30 business days in blocks of 10: two block boundaries, dozens of runs crossing them
BLOCK_DAYS = 10
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """About 12,600 transactions over 30 business days, every typology planted, in a store."""
    folder = tmp_path_factory.mktemp("bank")
    write_simulation(simulate(seed=5, n_customers=400, n_days=30, patterns_per_typology=2, lookalikes_per_kind=1,
                              recruit_pool_share=0.6), folder)
    store = TransactionStore.create(folder / "store")
    store.ingest(load_dataset(folder), str(folder))
    return folder, store


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    """A pseudonym key for the module's fixtures (they run before the per-test key)."""
    path = tmp_path_factory.mktemp("key") / "pseudonym.key"
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def single(bank, key_file, tmp_path_factory):
    """The whole store scanned in one process."""
    _, store = bank
    return run_scan(store.root, tmp_path_factory.mktemp("single"), key_file=key_file, progress=False)


@pytest.fixture(scope="module")
def client(single):
    """One local cluster of two single-threaded worker processes for the module (numba's
    cache is warm: the single-process scan ran first)."""
    pytest.importorskip("distributed")
    from flowgraph.dask_scan import connect

    with connect(n_workers=2) as client:
        yield client


def _hits(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[SAME].copy()
    for column in ("accounts", "txn_ids"):
        frame[column] = frame[column].map(list)
    return frame.sort_values("hit_id").reset_index(drop=True)


def _alerts(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[ALERTS].copy()
    frame["hit_ids"] = frame["hit_ids"].map(sorted)
    return frame.sort_values("alert_id").reset_index(drop=True)


def _crossing(hits: pd.DataFrame, block_firsts) -> int:
    """Hits whose run starts before a block's first day and reaches it."""
    first, last = (hits[c].to_numpy().astype("datetime64[D]") for c in ("run_first", "run_last"))
    return int(sum(((first < d) & (last >= d)).sum() for d in block_firsts))


def test_a_range_of_the_store_gives_the_hits_of_the_whole_file(bank, key_file, tmp_path):
    folder, store = bank
    days = store.days()
    first_day, last_day = days[len(days) // 3], days[2 * len(days) // 3]
    window = run_scan(store.root, tmp_path / "window", first_day=first_day, last_day=last_day, key_file=key_file,
                      progress=False)
    config = ScanConfig()
    calendar = config.calendar()  # a holiday counts toward the next business day
    scan_first, scan_last = calendar.next_business_day(first_day), calendar.next_business_day(last_day)
    assert (window.manifest["mode"], window.manifest["scan_first"], window.manifest["scan_last"]) == \
        ("range", str(scan_first), str(scan_last))
    dataset = load_dataset(folder)
    graph = build_graph(dataset.transactions.table, dataset.accounts.table, calendar)
    whole = scan_hits(graph, config, (graph.day_index(scan_first), graph.day_index(scan_last))).hits
    assert len(whole) and len(whole) < len(scan_hits(graph, config, (0, graph.n_days - 1)).hits) - 100
    pd.testing.assert_frame_equal(_hits(window.hits), _hits(whole), check_dtype=False)
    read = store_window(store, config, first_day=first_day, last_day=last_day).files
    assert max(f.parent.name for f in read) == f"day={scan_last}"  # nothing after the range


def test_a_real_clusters_blocks_fit_its_workers_memory(bank, client):
    """The default blocks on a LocalCluster: its workers' memory limit over their threads
    (tests/test_blocks.py tests the rule on other clusters)."""
    from flowgraph.dask_scan import cluster_blocks

    _, store = bank
    config = ScanConfig()
    days = config.calendar().business_days(*store_scan_days(store, config.calendar())[:2])
    workers = client.scheduler_info()["workers"].values()
    limit = min(w["memory_limit"] // w["nthreads"] for w in workers)
    plan = cluster_blocks(client, store, config, days, None)
    assert len(workers) == 2 and limit > 2 ** 28 and plan.memory_bytes == limit
    assert plan.fits and len(plan.blocks) == 1  # 30 days: shorter than 2 L + 1, one block


def test_the_dask_scan_gives_the_single_process_hits_and_alerts(bank, single, client, key_file, tmp_path):
    from flowgraph.dask_scan import dask_scan

    _, store = bank
    done = []
    result = dask_scan(client, store.root, tmp_path / "dask", block_days=BLOCK_DAYS, key_file=key_file,
                       progress=False, on_block=done.append)
    assert sorted(done) == [0, 1, 2]
    days = ScanConfig().calendar().business_days(single.manifest["scan_first"], single.manifest["scan_last"])
    assert _crossing(single.hits, days[BLOCK_DAYS::BLOCK_DAYS]) >= 20
    assert single.hits["in_band"].any() and (single.hits["typology"] == "pass_through_chain").any()
    pd.testing.assert_frame_equal(_hits(result.hits), _hits(single.hits), check_dtype=False)
    pd.testing.assert_frame_equal(_alerts(result.alerts), _alerts(single.alerts), check_dtype=False)
    assert result.manifest["n_transactions"] == single.manifest["n_transactions"]
    for name, key in (("hits.parquet", "hit_id"), ("alerts.parquet", "alert_id")):  # the de-identified exports too
        exported = [pd.read_parquet(Path(r.paths["manifest"]).parent / name) for r in (result, single)]
        own = [c for c in exported[0].columns if "run_id" in c]  # which run wrote or last changed a row
        pd.testing.assert_frame_equal(*(e.drop(columns=own).sort_values(key).reset_index(drop=True)
                                        for e in exported), check_dtype=False)


def test_blocks_one_after_another_give_the_single_process_scan(bank, single, key_file, tmp_path, capsys):
    """``--block-days`` without a cluster: the blocks run in this process (bounded memory),
    without Dask, and give the one-process hits, alerts, exports and the case transactions
    `flowgraph show` reads (read back from the store, as the blocks' graphs are gone)."""
    from flowgraph.desk.evidence import case_transactions
    from flowgraph.store import Store

    _, store = bank
    out = tmp_path / "blocks"
    # Dask made unimportable: the path must not need it
    code = subprocess.run([sys.executable, "-c", "import sys; sys.modules['dask'] = sys.modules['distributed'] = None; "
                           "from flowgraph.cli import main; "
                           f"sys.exit(main(['scan', {str(store.root)!r}, '--out', {str(out)!r}, '--block-days', "
                           f"'{BLOCK_DAYS}', '--key-file', {str(key_file)!r}]))"],
                          env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, text=True)
    assert code.returncode == 0, code.stderr
    for name, key in (("hits.parquet", "hit_id"), ("alerts.parquet", "alert_id")):
        exported = [pd.read_parquet(folder / name) for folder in (out, Path(single.paths["manifest"]).parent)]
        own = [c for c in exported[0].columns if "run_id" in c]
        pd.testing.assert_frame_equal(*(e.drop(columns=own).sort_values(key).reset_index(drop=True)
                                        for e in exported), check_dtype=False)
    kept = [case_transactions(Store(folder / "store.sqlite", create=False))
            for folder in (out, Path(single.paths["manifest"]).parent)]
    assert len(kept[1]) > 100
    pd.testing.assert_frame_equal(*(k.sort_values("txn_id").reset_index(drop=True) for k in kept), check_dtype=False)


def test_a_t1_day_is_one_window_never_blocks(bank, key_file, tmp_path, monkeypatch):
    """However little memory a scan is given, a T+1 day is one window (its read is bounded
    by the windows already); only a range is cut into blocks (tests/test_blocks.py)."""
    import flowgraph.dask_scan

    _, store = bank
    taken = []
    monkeypatch.setattr(flowgraph.dask_scan, "scan_block",
                        lambda *a, _here=flowgraph.dask_scan.scan_block: taken.append(a[2:4]) or _here(*a))
    result = run_scan(store.root, tmp_path / "day", as_of=store.days()[-1], key_file=key_file, progress=False,
                      block_memory=1)
    assert result.manifest["mode"] == "t+1" and taken == []


def _busy_worker_killer(client, killed: list):
    """An ``on_block`` callback that, the first time a block comes back, kills a worker that
    is running another one — from outside, as an operator or the OOM killer would: the
    worker process gets SIGKILL; its pid goes to ``killed``."""

    def kill_a_busy_worker(block):
        busy = [worker for worker, keys in client.processing().items() if keys]
        if killed or not busy:
            return
        pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    return kill_a_busy_worker


def test_a_worker_killed_mid_scan_loses_nothing(bank, single, client, key_file, tmp_path):
    from flowgraph.dask_scan import dask_scan

    _, store = bank
    killed = []
    kill_a_busy_worker = _busy_worker_killer(client, killed)

    # three blocks on two workers: when the first comes back, the others are running
    result = dask_scan(client, store.root, tmp_path / "dask", block_days=BLOCK_DAYS, key_file=key_file,
                       progress=False, on_block=kill_a_busy_worker)
    assert killed
    pd.testing.assert_frame_equal(_hits(result.hits), _hits(single.hits), check_dtype=False)
    pd.testing.assert_frame_equal(_alerts(result.alerts), _alerts(single.alerts), check_dtype=False)
    client.wait_for_workers(2, timeout=60)  # the nanny started a new worker
    assert killed[0] not in client.run(os.getpid).values()


def test_a_result_lost_while_gathered_is_scanned_again(bank, single, client, key_file, tmp_path, monkeypatch):
    """A worker that dies while a finished block's result is gathered: distributed
    reschedules the task, but its future raised "... is bound to a different event loop" out
    of the scan (once in CI). The block is submitted again and the scan gives the hits and
    alerts of one process."""
    import distributed

    from flowgraph.dask_scan import dask_scan

    _, store = bank
    real, lost = distributed.Future.result, []

    def result(future, *args, **kwargs):
        if not lost and future.key.endswith("-1"):  # the second block, once
            lost.append(future.key)
            raise RuntimeError("<asyncio.locks.Event object [unset]> is bound to a different event loop")
        return real(future, *args, **kwargs)

    monkeypatch.setattr(distributed.Future, "result", result)
    result_ = dask_scan(client, store.root, tmp_path / "dask", block_days=BLOCK_DAYS, key_file=key_file,
                        progress=False)
    assert lost
    pd.testing.assert_frame_equal(_hits(result_.hits), _hits(single.hits), check_dtype=False)
    pd.testing.assert_frame_equal(_alerts(result_.alerts), _alerts(single.alerts), check_dtype=False)


def test_a_block_that_kills_every_worker_ends_in_a_config_error_naming_it(bank, single, key_file, tmp_path):
    """A block whose workers all die (a worker out of memory is killed by its nanny on every
    attempt, as at 1e8 in benchmarks/results/storescale.md) is a ConfigError naming the block
    and the fix, not a KilledWorker traceback."""
    dask = pytest.importorskip("dask")
    from distributed import Client, LocalCluster

    from flowgraph.dask_scan import dask_scan
    from flowgraph.errors import ConfigError

    _, store = bank
    killed = []
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        kill_a_busy_worker = _busy_worker_killer(client, killed)
        with pytest.raises(ConfigError, match=r"block \d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d killed every Dask "
                                              r"worker.*Fix: .*--workers.*--block-days"):
            dask_scan(client, store.root, tmp_path / "dask", block_days=BLOCK_DAYS, key_file=key_file,
                      progress=False, on_block=kill_a_busy_worker, retries=0)
    assert killed


def test_cli_scan_on_a_running_cluster(bank, client, key_file, tmp_path, capsys):
    _, store = bank
    day = store.days()[-3]
    common = ["--as-of", day, "--key-file", str(key_file)]
    assert main(["scan", str(store.root), "--out", str(tmp_path / "one"), *common]) == 0
    address = client.scheduler_info()["address"]
    assert main(["scan", str(store.root), "--out", str(tmp_path / "dask"), "--dask", address, *common]) == 0
    assert "hits" in capsys.readouterr().out
    one, dask = (pd.read_parquet(tmp_path / o / "hits.parquet").drop(columns="run_id").sort_values("hit_id")
                 .reset_index(drop=True) for o in ("one", "dask"))
    assert len(one)
    pd.testing.assert_frame_equal(dask, one)


def _run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_scan_in_one_process_does_not_import_dask(bank, key_file, tmp_path):
    _, store = bank
    code = ("import sys\nfrom flowgraph.cli import main\n"
            f"assert main(['scan', {str(store.root)!r}, '--as-of', {store.days()[-1]!r}, '--out', 'o', "
            f"'--key-file', {str(key_file)!r}]) == 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    done = _run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_dask_missing_exits_2_with_the_pip_command(bank, tmp_path):
    _, store = bank
    # None in sys.modules makes an import fail as if the package were not installed
    code = ("import sys\nsys.modules['dask'] = sys.modules['distributed'] = None\nfrom flowgraph.cli import main\n"
            f"sys.exit(main(['scan', {str(store.root)!r}, '--workers', '2', '--out', 'o']))")
    done = _run_python(code, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "pip install 'flowgraph[dask]'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, needle", [
    (["--dask", "tcp://127.0.0.1:9"], "--dask tcp://127.0.0.1:9"),  # nobody listens on the discard port
    (["--dask", "nonsense://scheduler"], "--dask nonsense://scheduler"),
    (["--dask", "tcp://127.0.0.1:9", "--workers", "2"], "not both"),
    (["--workers", "0"], "--workers"),
    (["--workers", "2", "--as-of", "2024-09-10", "--from", "2024-09-02"], "--as-of"),
    (["--from", "2024-10-01", "--to", "2024-09-20"], "is after --to"),
    (["--from", "1 Oct"], "YYYY-MM-DD"),
    (["--to", "2031-01-02"], "outside the store"),
])
def test_bad_dask_and_range_options_exit_2_naming_them(bank, tmp_path, capsys, monkeypatch, args, needle):
    pytest.importorskip("distributed")
    monkeypatch.setattr("flowgraph.dask_scan.CONNECT_TIMEOUT_S", 1)
    _, store = bank
    assert main(["scan", str(store.root), "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_dask_options_need_a_store(bank, tmp_path, capsys):
    folder, _ = bank
    assert main(["scan", str(folder), "--out", str(tmp_path / "o"), "--workers", "2"]) == 2
    assert "ingest" in capsys.readouterr().err


@pytest.mark.parametrize("block_days", [0, 2.5, True])
def test_a_bad_block_size_is_refused_before_any_work(bank, tmp_path, block_days):
    from flowgraph.dask_scan import dask_scan
    from flowgraph.errors import ConfigError

    _, store = bank
    with pytest.raises(ConfigError, match=r"'block_days' parameter of dask_scan must be an int in the range"):
        dask_scan(None, store.root, tmp_path / "o", block_days=block_days)


def test_a_cluster_absorbed_by_a_later_one_is_retracted():
    """A layered hit found at the end of an earlier block or run whose every evidence
    transaction a later cluster of the same pass holds is not found by a scan of the whole
    range (its links are the larger cluster's): it is named for retraction. A partial
    overlap, a hit found again, or a cluster of the other pass (band vs strict) is not."""
    import pandas as pd

    from flowgraph.scan import ScannedHits, absorbed_clusters

    later = ScannedHits(
        hits=pd.DataFrame({"hit_id": ["C", "again"]}), retract_ids=[], member_runs=pd.DataFrame(),
        cluster_evidence=pd.DataFrame({"detector": "layered", "in_band": [True, True, True, True, False],
                                       "hit_id": ["C", "C", "C", "again", "S"],
                                       "txn_id": ["t1", "t2", "t3", "t9", "t5"]}))
    earlier = pd.DataFrame({
        "hit_id": ["inside", "partly", "again", "other_pass", "other_detector", "no_evidence"],
        "detector": ["layered", "layered", "layered", "layered", "fan", "layered"],
        "in_band": [True, True, True, False, True, True],
        "txn_ids": [["t1", "t2"], ["t2", "t4"], ["t9"], ["t1"], ["t1"], []]})
    assert absorbed_clusters(earlier, later) == ["inside"]


DASK = str(Path(sys.executable).with_name("dask"))
#: how long the processes of :func:`dask_processes` may live, so that a scan that would wait for
#: them forever fails instead of hanging the tests
DASK_PROCESSES_S = 90


@pytest.fixture
def dask_processes(tmp_path):
    """Starts ``dask scheduler`` and ``dask worker`` processes, which a test may kill from
    outside as an operator or the OOM killer would: ``scheduler()`` gives its address and
    process, ``worker(address, *options)`` its process. All are killed at the end, or after
    ``DASK_PROCESSES_S`` whatever happens."""
    pytest.importorskip("distributed")
    started: list[subprocess.Popen] = []
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "NUMBA_NUM_THREADS": "1"}

    def start(*args) -> subprocess.Popen:
        started.append(subprocess.Popen([DASK, *args, "--no-dashboard"], env=env, cwd=tmp_path,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return started[-1]

    def scheduler() -> tuple[str, subprocess.Popen]:
        file = tmp_path / f"scheduler-{len(started)}.json"
        process = start("scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(file))
        for _ in range(300):
            if file.exists() and file.stat().st_size:
                return json.loads(file.read_text())["address"], process
            time.sleep(0.1)
        pytest.fail("dask scheduler did not start within 30 s")

    def worker(address: str, *options: str) -> subprocess.Popen:
        return start("worker", address, "--nthreads", "1", *options)

    killer = threading.Timer(DASK_PROCESSES_S, lambda: [p.kill() for p in started])
    killer.start()
    yield SimpleNamespace(scheduler=scheduler, worker=worker)
    killer.cancel()
    for process in started:
        process.kill()
        process.wait()


def _flowgraph(args: list[str], cwd: Path, timeout_s: float = 60, **constants) -> subprocess.CompletedProcess:
    """``flowgraph ARGS`` in a new process, with some of :mod:`flowgraph.dask_scan`'s constants
    changed; one that runs longer than ``timeout_s`` (a hang) fails the test."""
    code = ("import sys\nimport flowgraph.dask_scan\n"
            + "".join(f"flowgraph.dask_scan.{name} = {value!r}\n" for name, value in constants.items())
            + f"from flowgraph.cli import main\nsys.exit(main({args!r}))")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout_s, check=False)


def test_a_scheduler_lost_mid_scan_is_a_config_error_and_the_same_scan_resumes(bank, single, key_file, tmp_path,
                                                                               dask_processes, capfd):
    """The scheduler killed when the first block comes back: a ConfigError naming the
    scheduler and the fix (no Dask traceback, not even logged), the block committed before
    is kept, and the same scan run again resumes after it with the one-process hits."""
    from flowgraph.dask_scan import block_scan, connect, dask_scan
    from flowgraph.errors import ConfigError

    _, store = bank
    address, scheduler = dask_processes.scheduler()
    dask_processes.worker(address)
    out = tmp_path / "dask"
    killed = []

    def kill_the_scheduler(block):
        if not killed:
            scheduler.kill()
            killed.append(block)

    lost = rf"^--dask {address}: the Dask scheduler at {address} went away mid-scan; the blocks committed so far " \
           r"are kept.*Fix: start a scheduler there.*run the same command again: the scan resumes"
    with pytest.raises(ConfigError, match=lost), connect(address) as client:
        client.wait_for_workers(1, timeout=30)
        dask_scan(client, store.root, out, block_days=BLOCK_DAYS, key_file=key_file, progress=False,
                  on_block=kill_the_scheduler)
    assert killed and "Traceback" not in capfd.readouterr().err
    resumed = block_scan(store.root, out, block_days=BLOCK_DAYS, key_file=key_file, progress=False)
    assert resumed.manifest["block_plan"]["kept_blocks"] >= 1
    pd.testing.assert_frame_equal(_hits(resumed.hits), _hits(single.hits), check_dtype=False)


@pytest.mark.parametrize("block_days", [[], ["--block-days", str(BLOCK_DAYS)]])
def test_a_scheduler_without_workers_exits_2_after_saying_it_waits(bank, key_file, tmp_path, block_days):
    """Without --block-days the blocks are planned from the workers (there were none: a
    ValueError); with it, the tasks waited for a worker forever."""
    distributed = pytest.importorskip("distributed")
    _, store = bank
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp",
                                  dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        done = _flowgraph(["scan", str(store.root), "--out", "o", "--dask", address, "--key-file", str(key_file),
                           *block_days], tmp_path, WORKER_WAIT_S=2)
    assert done.returncode == 2, done.stderr
    assert f"the Dask scheduler at {address} has no worker: waiting up to 2 s for one" in done.stderr
    assert f"error: --dask {address}: the scheduler has no workers (waited 2 s for one). Fix: start one" in done.stderr
    assert f"dask worker {address}" in done.stderr and "Traceback" not in done.stderr


def test_a_scan_whose_only_worker_dies_says_it_waits_then_is_a_config_error(bank, key_file, tmp_path,
                                                                            dask_processes, capfd, monkeypatch):
    """The one worker (no nanny to restart it) killed when the first block comes back: the
    scan says on stderr that it waits for a worker, then gives up (it waited forever)."""
    from flowgraph.dask_scan import connect, dask_scan
    from flowgraph.errors import ConfigError

    monkeypatch.setattr("flowgraph.dask_scan.WORKER_WAIT_S", 2)
    monkeypatch.setattr("flowgraph.dask_scan.CHECK_WORKERS_S", 1)
    _, store = bank
    address, _ = dask_processes.scheduler()
    worker = dask_processes.worker(address, "--no-nanny")
    with connect(address) as client:
        client.wait_for_workers(1, timeout=30)
        with pytest.raises(ConfigError, match=rf"^--dask {address}: the scheduler has no workers \(waited 2 s"):
            dask_scan(client, store.root, tmp_path / "dask", block_days=BLOCK_DAYS, key_file=key_file,
                      progress=False, on_block=lambda block: worker.kill())
    assert f"the Dask scheduler at {address} has no worker: waiting up to 2 s" in capfd.readouterr().err


def test_a_scheduler_lost_before_the_blocks_run_is_a_config_error_at_once(bank, key_file, tmp_path, dask_processes):
    """Lost while the scan plans its blocks (before any task): the client, reconnecting,
    listed no worker, and the scan said it waited for one, then hung."""
    from flowgraph.dask_scan import connect, dask_scan
    from flowgraph.errors import ConfigError

    _, store = bank
    address, scheduler = dask_processes.scheduler()
    dask_processes.worker(address)
    with connect(address) as client:
        client.wait_for_workers(1, timeout=30)
        scheduler.kill()
        scheduler.wait()
        for _ in range(100):  # the client notices within a moment
            if client.status != "running":
                break
            time.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(ConfigError, match=rf"^--dask {address}: the Dask scheduler at {address} went away"):
            dask_scan(client, store.root, tmp_path / "dask", block_days=BLOCK_DAYS, key_file=key_file,
                      progress=False)
        assert time.monotonic() - started < 10


def test_dask_aimed_at_a_service_that_never_answers_exits_2_in_time(bank, tmp_path):
    """A listening socket nobody reads accepts Dask's handshake and never answers, as an
    HTTP server does: the client waited for minutes."""
    pytest.importorskip("distributed")
    _, store = bank
    with socket.create_server(("127.0.0.1", 0)) as server:
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        done = _flowgraph(["scan", str(store.root), "--out", "o", "--dask", address], tmp_path, timeout_s=30,
                          CONNECT_TIMEOUT_S=2)
    assert done.returncode == 2, done.stderr
    assert f"error: --dask {address}: no Dask scheduler answered there (none within 2 s: nothing listens there, " \
           "or it is not a Dask scheduler)" in done.stderr
    assert "Traceback" not in done.stderr


def test_dask_aimed_at_a_worker_is_a_config_error_naming_it():
    distributed = pytest.importorskip("distributed")
    from flowgraph.dask_scan import connect
    from flowgraph.errors import ConfigError

    with distributed.LocalCluster(n_workers=1, processes=False, protocol="tcp",
                                  dashboard_address=":0") as cluster:
        address = next(iter(cluster.workers.values())).address
        with pytest.raises(ConfigError, match=rf"^--dask {address}: a Dask Worker, not a scheduler, answered"), \
                connect(address):
            pass
