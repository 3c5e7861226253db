"""Quality of the human-trafficking pack on held-out seeds (101, 102), small banks
(1,500 customers, 30 business days, 4 patterns and 4 look-alikes of each kind): recall
per planted typology, precision of hits, look-alikes raised. Output: the table in
benchmarks/results/quality/trafficking.md."""
from flowgraph import build_graph, validate_accounts, validate_transactions
from flowgraph.simulate import simulate
from flowgraph.detectors import REGISTRY
from flowgraph.evaluate import found
import pandas as pd
rows=[]
for seed in (101, 102):  # held-out seeds
    bank = simulate(seed=seed, n_customers=1500, n_days=30, trafficking_per_typology=4)
    v = validate_transactions(bank.transactions, "bank")
    g = build_graph(v.table, validate_accounts(bank.accounts).table)
    pats = bank.patterns
    laund = set(a for acc in pats.loc[pats.behaviour != "lookalike", "accounts"] for a in acc)
    for name in [n for n in REGISTRY if n.startswith("traff")]:
        t = REGISTRY[name].typologies[0]
        h = REGISTRY[name].detect(g, REGISTRY[name].default).frame
        f = found(pats, h)
        mine = pats.typology == name
        look = pats.typology.isin(t.imitated_by)
        rows.append({"seed": seed, "detector": name, "planted": int(mine.sum()), "found": int(f[mine].sum()),
                     "hits": len(h), "hits_on_laundering": int(h.subject.isin(laund).sum()),
                     "lookalikes": int(look.sum()), "lookalikes_raised": int(f[look].sum())})
d = pd.DataFrame(rows).groupby("detector").sum(numeric_only=True).drop(columns="seed")
d["recall"] = (d.found / d.planted).round(2); d["precision"] = (d.hits_on_laundering / d.hits).round(2)
print(d.to_string())
