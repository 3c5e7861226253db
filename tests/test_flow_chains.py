"""The forwarding-chain detector on hand-built graphs."""

import numpy as np
import pytest
from test_flow_cycles import graph_of

import flowgraph.detectors.flows
from flowgraph._kernels.flows import forwarding_links
from flowgraph.detectors.chains import ChainParams, detect_chains
from flowgraph.errors import ConfigError
from flowgraph.scan import scan_hits
from flowgraph.scan_config import ScanConfig

# P pays M1 Friday; M1 -> M2 Sunday; M2 -> M3 Monday; M3 -> Z Thursday (3 business days on)
CHAIN = [("P", "M1", "2024-09-06 10:00", 400_000.0), ("M1", "M2", "2024-09-08 10:00", 396_000.0),
         ("M2", "M3", "2024-09-09 10:00", 392_000.0), ("M3", "Z", "2024-09-12 10:00", 388_000.0)]


def test_a_chain_is_one_hit_with_the_money_hop_by_hop():
    table = detect_chains(graph_of(CHAIN))
    assert len(table) == 1
    hit = table[0]
    assert hit.typology == "forwarding_chain" and hit.subject == "M1"
    assert hit.accounts == ("M1", "M2", "M3", "Z", "P") and hit.n_accounts == 5
    assert hit.amount == 388_000.0 and hit.txn_ids == ("t0", "t1", "t2", "t3")
    m = hit.measures
    assert m["hops"] == 4 and m["path_accounts"] == ["P", "M1", "M2", "M3", "Z"]
    assert m["hop_amounts"] == [400_000.0, 396_000.0, 392_000.0, 388_000.0]
    assert m["hop_dates"] == ["2024-09-06", "2024-09-08", "2024-09-09", "2024-09-12"]
    assert hit.run_first == np.datetime64("2024-09-06") and hit.run_last == np.datetime64("2024-09-12")


def test_hop_days_count_business_or_calendar_days():
    g = graph_of(CHAIN)
    assert detect_chains(g, ChainParams(hop_days=2))[0].measures["hops"] == 3  # Monday -> Thursday is 3
    assert detect_chains(g, ChainParams(hop_days=3, window_unit="calendar"))[0].measures["hops"] == 4
    assert len(detect_chains(g, ChainParams(hop_days=1, window_unit="calendar"))) == 0  # Friday -> Sunday is 2
    assert len(detect_chains(g, ChainParams(hop_days=2, min_hops=4))) == 0


def test_a_chain_that_grows_keeps_its_hit_id_and_the_scan_range_holds():
    g = graph_of(CHAIN)
    early = detect_chains(g, ChainParams(), days=(0, 1))
    full = detect_chains(g, ChainParams())
    assert early[0].hit_id == full[0].hit_id and early[0].measures["hops"] == 3
    assert len(detect_chains(g, days=(4, 4))) == 1 and len(detect_chains(g, days=(0, 0))) == 0


def test_in_a_scan_chains_filter_the_links_cycles_found_with_a_longer_hop(monkeypatch):
    """A scan finds each set of forwarding links once per pass (strict and tolerance band),
    at the longest hop its detectors ask for (cycles, scatter-gather and layered flows: 9);
    the chain detector (hop 3) filters it and reports what it finds alone: here the last
    hop comes 5 business days after the one before, so the chain stops at M3."""
    late = CHAIN[:3] + [("M3", "Z", "2024-09-16 10:00", 388_000.0)]
    g = graph_of(late)
    alone = detect_chains(g)
    assert len(alone) == 1 and alone[0].measures["hops"] == 3
    hops = []

    def counted(g_arrays, wday, n_edges, hop_days, *rest):
        hops.append(hop_days)
        return forwarding_links(g_arrays, wday, n_edges, hop_days, *rest)

    monkeypatch.setattr(flowgraph.detectors.flows, "forwarding_links", counted)
    g = graph_of(late)
    config = ScanConfig()
    chains = scan_hits(g, config, (0, g.n_days - 1)).hits.query("detector == 'forwarding_chains' and not in_band")
    assert sorted(hops) == [config.detector_params["cycles"].window_days - 1] * 2
    assert chains["hit_id"].tolist() == [alone[0].hit_id] and chains["txn_ids"].map(list).tolist() == [
        ["t0", "t1", "t2"]]


def test_a_skim_too_large_breaks_the_chain():
    rows = CHAIN[:2] + [("M2", "M3", "2024-09-09 10:00", 350_000.0)] + CHAIN[3:]
    assert len(detect_chains(graph_of(rows))) == 0
    assert len(detect_chains(graph_of(rows), ChainParams(min_forward_share=0.88))) == 1


def test_chain_parameters_are_checked():
    with pytest.raises(ConfigError, match=r"The 'min_hops' parameter of ChainParams must be an int in the range \[2, 100\]. Got 1 instead."):
        ChainParams(min_hops=1)
    with pytest.raises(ConfigError, match="'hop_days' parameter of ChainParams"):
        ChainParams(hop_days=-1)
