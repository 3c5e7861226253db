"""Simulated banks, made once with ``flowgraph.simulate`` and cached under
``benchmarks/.data/`` (the ``simulate`` output folder, which ``flowgraph scan`` reads,
plus ``params.json``: what was asked, what came out, and how long it took).

Run as ``python -m bench.data '<json BankSpec>'`` (what :func:`ensure_bank` does, in a
child process so the harness stays small): simulate, write, record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .common import BENCH_DIR, DATA_DIR, REPO, child_env, log, run_child

#: Transactions per customer over 60 business days in the simulator's default population.
TXNS_PER_CUSTOMER_60_DAYS = 61.8
SCALE_DAYS = 60
#: The simulator refuses when its launderers run out of recruitable accounts; the share of
#: customers open to recruiting is raised step by step (the simulator's default first).
RECRUIT_POOL_SHARES = (0.25, 0.35, 0.5)


def simulator_digest() -> str:
    """A digest of the simulator's source: a cached bank made by other code is made again."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "src" / "flowgraph" / "simulate").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class BankSpec:
    """One simulated bank: ``flowgraph.simulate.SimulationParams`` fields (None: default)."""

    seed: int
    n_customers: int
    n_days: int = SCALE_DAYS
    patterns_per_typology: int | None = None
    lookalikes_per_kind: int | None = None

    @property
    def folder(self) -> Path:
        name = f"bank_s{self.seed}_c{self.n_customers}_d{self.n_days}"
        if self.patterns_per_typology is not None:
            name += f"_p{self.patterns_per_typology}"
        if self.lookalikes_per_kind is not None:
            name += f"_l{self.lookalikes_per_kind}"
        return DATA_DIR / name


def scale_spec(n_txns: int, seed: int) -> BankSpec:
    """A 60-business-day bank of about ``n_txns`` transactions."""
    return BankSpec(seed=seed, n_customers=round(n_txns / TXNS_PER_CUSTOMER_60_DAYS))


def ensure_bank(spec: BankSpec, key_file: Path, timeout_s: float) -> dict:
    """The bank's ``params.json`` (with ``folder``), simulating it first unless cached."""
    side = spec.folder / "params.json"
    # params.json is written last: with it and the three tables present, the bank is whole
    if side.exists() and all((spec.folder / f"{n}.parquet").exists() for n in ("transactions", "accounts", "patterns")):
        have = json.loads(side.read_text())
        if have.get("spec") == dataclasses.asdict(spec) and have.get("simulator") == simulator_digest():
            return {**have, "folder": str(spec.folder), "cached": True}
    log(f"simulating {spec} ...")
    env = child_env(f"{REPO / 'src'}:{BENCH_DIR}", key_file)
    run = run_child([sys.executable, "-m", "bench.data", json.dumps(dataclasses.asdict(spec))], env, timeout_s)
    if run["returncode"] != 0:
        raise RuntimeError(f"simulating {spec} failed:\n{run['stderr_tail']}")
    return {**json.loads(side.read_text()), "folder": str(spec.folder), "cached": False,
            "simulate_peak_rss_bytes": run["peak_rss_bytes"]}


def _simulate(spec: BankSpec):
    from flowgraph.errors import ConfigError
    from flowgraph.simulate import simulate

    fields = {k: v for k, v in dataclasses.asdict(spec).items() if v is not None}
    for share in RECRUIT_POOL_SHARES:
        try:
            return simulate(recruit_pool_share=share, **fields), share
        except ConfigError as exc:
            if "ran out of recruitable" not in str(exc) or share == RECRUIT_POOL_SHARES[-1]:
                raise


def main(spec_json: str) -> None:
    from flowgraph.simulate import write_simulation

    spec = BankSpec(**json.loads(spec_json))
    start = time.perf_counter()
    bank, share = _simulate(spec)
    simulate_s = time.perf_counter() - start
    start = time.perf_counter()
    write_simulation(bank, spec.folder)
    write_s = time.perf_counter() - start
    tx = bank.transactions
    params = {"spec": dataclasses.asdict(spec), "simulator": simulator_digest(), "recruit_pool_share": share,
              "n_txns": len(tx),
              "n_transfer_edges": int((tx["src_account"].notna() & tx["dst_account"].notna()).sum()),
              "n_patterns": len(bank.patterns), "simulate_s": simulate_s, "write_s": write_s}
    (spec.folder / "params.json").write_text(json.dumps(params, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])
