"""What every part of the harness shares: paths, the machine stamp, the child-process
runner (wall time and peak memory of one child), spreads of repeats and the writers."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"
DATA_DIR = BENCH_DIR / ".data"
PACKAGES = ("numpy", "pandas", "pyarrow", "numba", "chinesecalendar", "snapml")
#: Characters of a child's stdout/stderr kept in the results (the end, where errors are).
OUTPUT_TAIL_CHARS = 2_000


def log(msg: str) -> None:
    """One progress line on stderr (the results go to files)."""
    print(f"[{dt.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def _proc_field(path: str, key: str) -> str | None:
    try:
        with open(path) as fh:
            return next((line.split(":", 1)[1].strip() for line in fh if line.startswith(key)), None)
    except OSError:
        return None


def git(*args: str, cwd: Path = REPO) -> str | None:
    """Output of one git command in ``cwd`` (None if git fails)."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def machine_stamp() -> dict:
    """CPU model, cores, memory, platform, library versions and the commit measured."""
    mem_kib = _proc_field("/proc/meminfo", "MemTotal")
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    dirty = git("status", "--porcelain", "--", "src")
    return {"cpu_model": _proc_field("/proc/cpuinfo", "model name"), "cores": os.cpu_count(),
            "cores_available": len(os.sched_getaffinity(0)),
            "memory_bytes": int(mem_kib.split()[0]) * 1024 if mem_kib else None,
            "platform": platform.platform(), "python": sys.version.split()[0], "versions": versions,
            "commit": git("rev-parse", "HEAD"), "src_uncommitted_changes": bool(dirty),
            "load_average_at_start": os.getloadavg(), "memory_touch": memory_touch_probe(),
            "memory_settings": memory_settings(),
            "env": {k: os.environ.get(k) for k in ("NUMBA_NUM_THREADS", "NUMBA_DISABLE_JIT", "NUMBA_CACHE_DIR",
                                                   "MIMALLOC_PURGE_DELAY")}}


#: Bytes :func:`memory_touch_probe` allocates (three times, one after the other).
PROBE_BYTES = 512 * 2**20
#: Seconds :func:`memory_touch_probe` waits before its last allocation.
PROBE_PAUSE_S = 3.0


def memory_touch_probe(n_bytes: int = PROBE_BYTES) -> dict:
    """Seconds per GiB to fill memory the process has not touched before (each page
    faulted in and zeroed by the kernel; in a virtual machine the host may have to back
    it too): the first time, at once again (pages the kernel just took back), and again
    after a pause of :data:`PROBE_PAUSE_S` (a VM that reports free memory to its host has
    handed them back by then); and to fill it once more when faulted in. Scans allocate
    tens of GiB: on one 2-core VM a fresh GiB cost 2.4 s the first time, 0.85 s later,
    against 0.14 s to refill it, and the same scan took 97 s on one such machine and
    130 s on another (sys time 65 s of 213 CPU-s, a fifth of it zeroing pages)."""
    n = n_bytes // 8
    fresh = []
    for pause in (0.0, 0.0, PROBE_PAUSE_S):
        time.sleep(pause)
        start = time.perf_counter()
        block = np.ones(n, np.int64)  # a fresh mapping: above glibc's mmap threshold
        fresh.append(time.perf_counter() - start)
        start = time.perf_counter()
        block[:] = 2
        rewrite = time.perf_counter() - start
        del block
    per_gib = 2**30 / (n * 8)
    return {"probe_bytes": n * 8, "pause_s": PROBE_PAUSE_S,
            "fresh_s_per_gib": [round(t * per_gib, 3) for t in fresh],
            "rewrite_s_per_gib": round(rewrite * per_gib, 3)}


#: Kernel settings that decide what fresh memory costs (:func:`memory_settings`): where each
#: is read, under /sys.
MEMORY_SETTINGS = {"transparent_hugepage": "kernel/mm/transparent_hugepage/enabled",
                   "transparent_hugepage_defrag": "kernel/mm/transparent_hugepage/defrag",
                   "free_page_reporting_order": "module/page_reporting/parameters/page_reporting_order"}


def memory_settings(root: Path = Path("/sys")) -> dict:
    """The kernel's huge-page policy (the bracketed choice) and, where the kernel can report
    free memory to a virtual machine's host, the order of the blocks it reports (9: 2 MiB;
    the host takes them back seconds after they are freed); None for a setting the machine
    does not have. On the benchmark machine these make its system time: in one range scan
    (`perf record`, session 46) the kernel zeroing fresh pages was 30 of 122 CPU-s, and 4 GiB
    of fresh huge pages took 10.2 s of system time in a new process, again at once 0.2 s,
    after 3 s 3.2 s."""
    settings = {}
    for name, relative in MEMORY_SETTINGS.items():
        try:
            text = (root / relative).read_text().strip()
        except OSError:
            text = None
        chosen = re.search(r"\[(\w[\w+]*)\]", text) if text else None
        settings[name] = chosen.group(1) if chosen else text
    return settings


def child_env(pythonpath: Path | str, key_file: Path) -> dict:
    """The environment of a child: ``pythonpath`` first, and a pseudonym key of the
    harness's own (``FLOWGRAPH_KEY_FILE``) so nothing is written into the user's home."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(pythonpath)
    env["FLOWGRAPH_KEY_FILE"] = str(key_file)
    return env


def run_child(cmd: list[str], env: dict, timeout_s: float, cwd: Path | None = None) -> dict:
    """Run ``cmd`` to its end and measure it.

    Returns
    -------
    dict
        ``wall_s``, ``peak_rss_bytes`` (``ru_maxrss`` of this child alone, from ``wait4``),
        ``user_s``, ``sys_s``, its ``minor_faults`` and ``major_faults``, ``steal_s`` (CPU time
        the host gave other guests meanwhile, on every core: :func:`steal_seconds`),
        ``vm_events`` (the machine's huge-page and compaction events meanwhile:
        :func:`vm_events`), ``returncode`` (-9 after ``timeout_s``) and the tail of its stdout
        and stderr.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        stolen, events = steal_seconds(), vm_events()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        # wait4, not proc.wait: the rusage of this one child, where RUSAGE_CHILDREN would
        # report the largest child of the whole harness
        _, status, usage = os.wait4(proc.pid, 0)
        wall_s = time.perf_counter() - start
        stolen = None if stolen is None else round(steal_seconds() - stolen, 2)
        events = {k: v - events[k] for k, v in vm_events().items() if k in events}
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"cmd": [str(c) for c in cmd], "returncode": proc.returncode, "wall_s": wall_s,
                "peak_rss_bytes": usage.ru_maxrss * 1024, "user_s": usage.ru_utime, "sys_s": usage.ru_stime,
                "minor_faults": usage.ru_minflt, "major_faults": usage.ru_majflt, "steal_s": stolen,
                "vm_events": events,
                "stdout_tail": out.read()[-OUTPUT_TAIL_CHARS:], "stderr_tail": err.read()[-OUTPUT_TAIL_CHARS:]}


def steal_seconds() -> float | None:
    """CPU seconds this virtual machine's cores have waited for its host so far (``steal``
    of ``/proc/stat``, summed over cores): a step during which it grows ran on a shared
    host, and its times are not the machine's own. None where there is no such count."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()  # cpu user nice system idle iowait irq softirq steal ...
    except OSError:
        return None
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 and fields[0] == "cpu" else None


#: Counters of ``/proc/vmstat`` that tell how a step got its memory: huge pages given on a
#: first touch (``thp_fault_alloc``) or refused, the step then taking small pages
#: (``thp_fault_fallback``), and the kernel compacting memory to find one (``compact_stall``)
VM_EVENTS = ("thp_fault_alloc", "thp_fault_fallback", "compact_stall", "compact_fail")


def vm_events() -> dict[str, int]:
    """The machine's :data:`VM_EVENTS` so far (an empty dict where there is no
    ``/proc/vmstat``): machine-wide, so a step's difference is its own on an idle machine."""
    try:
        with open("/proc/vmstat") as fh:
            pairs = (line.split() for line in fh)
            return {name: int(value) for name, value in pairs if name in VM_EVENTS}
    except OSError:
        return {}


def spread(values: list[float]) -> dict:
    """Median, min, max and relative range ((max - min) / median) of repeats."""
    if not values:
        return {"median": None, "min": None, "max": None, "rel_range": None, "n": 0}
    median = statistics.median(values)
    return {"median": median, "min": min(values), "max": max(values),
            "rel_range": (max(values) - min(values)) / median if median else None, "n": len(values)}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, None when either is missing or the denominator is 0."""
    return numerator / denominator if numerator is not None and denominator else None


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, tuple, np.ndarray)):
        return list(value)
    return str(value)


def write_json(path: Path, payload: dict) -> None:
    """``payload`` as indented JSON (numpy scalars, sets and paths converted)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")


def fmt(value, digits: int = 2, scale: float = 1.0) -> str:
    """A number for a markdown cell ("–" when missing), thousands separated; counts
    without decimals."""
    if value is None:
        return "–"
    if isinstance(value, (int, np.integer)) and scale == 1.0:
        return f"{value:,}"
    value = value * scale
    return f"{value:,.0f}" if abs(value) >= 1_000 else f"{value:,.{digits}f}"


def results_header(title: str, payload: dict) -> list[str]:
    """The first lines of a module's results markdown: title, when and by which command and
    commit, and the machine (``payload`` holds ``started_at``, ``command``, ``machine``)."""
    m = payload["machine"]
    return [f"# {title}", "", f"{payload['started_at']} · `{payload['command']}` · commit `{(m['commit'] or '')[:12]}`",
            "", f"Machine: {m['cpu_model']}, {m['cores_available']} of {m['cores']} cores, "
                f"{fmt(m['memory_bytes'], scale=1 / 2**30)} GiB, Python {m['python']}; load average at start "
                f"{m['load_average_at_start'][0]:.2f}." + _touch_note(m.get("memory_touch"))
            + _settings_note(m.get("memory_settings")), ""]


def _touch_note(touch: dict | None) -> str:
    """The memory probe's figures for the results' header (none in older results)."""
    if not touch:
        return ""
    first, again, later = touch["fresh_s_per_gib"]
    return (f" Filling fresh memory: {first:.2f} s/GiB, at once again {again:.2f}, after "
            f"{touch['pause_s']:g} s {later:.2f}; refilling it "
            f"{touch['rewrite_s_per_gib']:.2f} s/GiB (`bench.common.memory_touch_probe`).")


def _settings_note(settings: dict | None) -> str:
    """The kernel's memory settings for the results' header (none in older results)."""
    if not settings:
        return ""
    order = settings.get("free_page_reporting_order")
    reporting = "no free page reporting" if order is None else f"free page reporting in blocks of order {order}"
    return (f" Huge pages: {settings.get('transparent_hugepage')} (defrag "
            f"{settings.get('transparent_hugepage_defrag')}); {reporting} (`bench.common.memory_settings`).")


def md_table(header: list[str], rows: list[list]) -> list[str]:
    """Markdown table lines (cells already formatted as text)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
