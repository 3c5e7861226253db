"""What every benchmark records: the machine, the code version, and spreads of repeats."""

from __future__ import annotations

import hashlib
import os
import platform
import resource
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
DATA_DIR = REPO / "benchmarks" / ".data"
PACKAGES = ("flowgraph", "numpy", "pandas", "pyarrow", "numba", "chinesecalendar")


def proc_field(path: str, key: str) -> str | None:
    """A ``key: value`` line of a /proc file, or None."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def package_versions(packages=PACKAGES) -> dict:
    """Installed version of each package (None where it is not installed)."""
    versions = {}
    for pkg in packages:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return versions


def reset_peak() -> bool:
    """Reset this process's peak-RSS mark (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def machine_info() -> dict:
    """Cores, memory, CPU model, platform and library versions of this machine."""
    mem_kib = proc_field("/proc/meminfo", "MemTotal")
    versions = package_versions()
    return {
        "nproc": os.cpu_count(),
        "nproc_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "mem_total_bytes": int(mem_kib.split()[0]) * 1024 if mem_kib else None,
        "cpu_model": proc_field("/proc/cpuinfo", "model name"),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "versions": versions,
    }


def git_info() -> dict:
    """The commit measured, and whether src/ had uncommitted changes."""
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    status = git("status", "--porcelain", "--", "src")
    diff = git("diff", "HEAD", "--", "src")
    return {"commit": git("rev-parse", "HEAD"),
            "src_diff_sha1": hashlib.sha1(diff.encode()).hexdigest() if diff else None,
            "src_dirty": bool(status) if status is not None else None,
            "src_changes": status.splitlines() if status else []}


def rss() -> dict:
    """Current and peak resident set of this process, in bytes."""
    cur = proc_field("/proc/self/status", "VmRSS")
    hwm = proc_field("/proc/self/status", "VmHWM")
    return {"rss_bytes": int(cur.split()[0]) * 1024 if cur else None,
            "hwm_bytes": int(hwm.split()[0]) * 1024 if hwm else None,
            "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def spread(values: list[float]) -> dict:
    """Median, min, max and relative range of repeated measurements."""
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "rel_range": None, "n": 0}
    med = statistics.median(values)
    return {"median": med, "min": min(values), "max": max(values),
            "rel_range": (max(values) - min(values)) / med if med else None, "n": len(values)}
