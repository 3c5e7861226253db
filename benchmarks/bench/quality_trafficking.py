"""Quality of the human-trafficking pack on held-out seeds (101, 102), small banks
(1,500 customers, 30 business days, 4 patterns and 4 look-alikes of each kind): recall
per planted typology, precision of hits, look-alikes hit; then the pack's own alerts
(its hits alone, default alert model): planted patterns and look-alikes whose subject's
customer has a raised alert. Output: the tables in benchmarks/results/quality/trafficking.md."""
from flowgraph import build_graph, validate_accounts, validate_transactions
from flowgraph.alerts import ModelConfig, build_alerts
from flowgraph.ceiling import W
from flowgraph.simulate import simulate
from flowgraph.detectors import REGISTRY
from flowgraph.evaluate import found
import pandas as pd
rows=[]; raised_rows=[]
pack = [n for n in REGISTRY if n.startswith("traff")]
pack_lookalikes = {look for n in pack for look in REGISTRY[n].typologies[0].imitated_by}
for seed in (101, 102):  # held-out seeds
    bank = simulate(seed=seed, n_customers=1500, n_days=30, trafficking_per_typology=4)
    v = validate_transactions(bank.transactions, "bank")
    g = build_graph(v.table, validate_accounts(bank.accounts).table)
    pats = bank.patterns
    laund = set(a for acc in pats.loc[pats.behaviour != "lookalike", "accounts"] for a in acc)
    frames = []
    for name in pack:
        t = REGISTRY[name].typologies[0]
        h = REGISTRY[name].detect(g, REGISTRY[name].default).frame
        frames.append(h)
        f = found(pats, h)
        mine = pats.typology == name
        look = pats.typology.isin(t.imitated_by)
        rows.append({"seed": seed, "detector": name, "planted": int(mine.sum()), "found": int(f[mine].sum()),
                     "hits": len(h), "hits_on_laundering": int(h.subject.isin(laund).sum()),
                     "lookalikes": int(look.sum()), "lookalikes_raised": int(f[look].sum())})
    # strict hits only (a scan would add tolerance-band hits, weighted by band_weight)
    hits = pd.concat([h for h in frames if len(h)], ignore_index=True).assign(in_band=False)
    hits["w"] = W(hits["n_accounts"].clip(lower=1).to_numpy(), hits["n_days"].clip(lower=1).to_numpy())
    alerts = build_alerts(hits, ModelConfig(), "bench")
    alerted = set(alerts.loc[alerts["raised"], "customer"])
    customer = dict(zip(bank.accounts["account_id"], bank.accounts["customer_id"]))
    on = pats.assign(alerted=[customer.get(s) in alerted for s in pats["subject"]])
    raised_rows.append(on[on.typology.isin(pack) | on.typology.isin(pack_lookalikes)]
                       .groupby(["typology", "behaviour"])["alerted"].agg(["size", "sum"]))
    laund_customers = {customer.get(a) for a in laund}
    raised_rows.append(pd.DataFrame({"size": [len(alerted)], "sum": [len(alerted & laund_customers)]},
                                    index=pd.MultiIndex.from_tuples([("(customers alerted)", "on laundering")])))
d = pd.DataFrame(rows).groupby("detector").sum(numeric_only=True).drop(columns="seed")
d["recall"] = (d.found / d.planted).round(2); d["precision"] = (d.hits_on_laundering / d.hits).round(2)
print(d.to_string())
r = pd.concat(raised_rows).groupby(level=[0, 1]).sum().rename(columns={"size": "patterns", "sum": "alerted"})
print(r.to_string())
