"""What the desk's outputs make of hostile text: every value written into Markdown reads as
the text it is (no markup, raw HTML or new line from an analyst's name, a note or an id of
the data), and a de-identified output never shows an id an analyst's note names."""

import html
import json
import re

import pytest

from desk_banks import copy_store, scan_bank
from flowgraph.deid import Pseudonymizer, load_key
from flowgraph.desk.casefile import case_file
from flowgraph.desk.markdown import md_cell, md_table, md_text
from flowgraph.desk.notes import DEIDENTIFIED, MASK, deidentify_note, looks_like_id
from flowgraph.desk.reports import write_report_drafts
from flowgraph.store import Store

#: Ids of the data made to break Markdown: a transaction id with a script, an account with
#: an image, a table pipe and a heading mark.
EVIL_TXN = "cy<script>alert(1)</script>"
EVIL_ACCOUNT = "RB0002<img src=x onerror=alert(2)>|# x"
ANALYST = "eve<script>alert(3)</script>\n\n# injected heading"


def bank_rows() -> list[tuple]:
    """A four-account ring of transfers just under 500,000 (one alert of the ring), one of
    its accounts and one of its transaction ids hostile; and a large-value transfer between
    two other accounts (RL0001 -> RM0002, transaction TX202409180001), whose ids a note on
    the ring's alert names."""
    ring = ["RA0001", EVIL_ACCOUNT, "RC0003", "RD0004"]
    rows = [(EVIL_TXN if k == 1 else f"cy{k}", f"2024-09-{10 + k} 10:00:00", u, v, 450_000 - 9_000 * k, "CNY",
             "transfer") for k, (u, v) in enumerate(zip(ring, ring[1:] + ring[:1]))]
    return rows + [("TX202409180001", "2024-09-18 10:00:00", "RL0001", "RM0002", 520_000, "CNY", "transfer")]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    return scan_bank(tmp_path_factory.mktemp("outputs"), bank_rows())


@pytest.fixture
def store(scanned, tmp_path):
    """A copy of the scanned store, read with the session's key, which scanned it."""
    return Store(copy_store(scanned, tmp_path), create=False)


def decide(store: Store, analyst: str, note: str) -> str:
    """Record a case decision on the ring's alert as stored by any version (the name
    unchecked), and return the alert's id."""
    alert_id = store.query("SELECT alert_id FROM alerts WHERE subject = 'RA0001' ORDER BY score DESC")["alert_id"][0]
    with store.transaction() as c:
        c.execute("INSERT INTO dispositions (alert_id, disposition, analyst, decided_at, note) "
                  "VALUES (?, 'case', ?, '2024-09-20T10:00:00+00:00', ?)",
                  (alert_id, analyst, note))
    return alert_id


@pytest.mark.parametrize("value, shown", [
    ("eve<script>alert(1)</script>", "eve&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("a\n\n# heading", "a  # heading"),
    ("# heading", "\\# heading"),
    ("> quote", "&gt; quote"),
    ("  - item", "  \\- item"),
    ("12. item", "12\\. item"),
    ("a|b", "a\\|b"),
    ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
    ("*bold* `code` ~x~ back\\", "\\*bold\\* \\`code\\` \\~x\\~ back\\\\"),
    ("&lt;", "&amp;lt;"),
    ("tab\there\r\x00\u2028end", "tab here   end"),
    ("2024-09-15 pass_through", "2024-09-15 pass\\_through"),
])
def test_md_text_shows_the_text_as_it_is(value, shown):
    assert md_text(value) == shown


def test_md_table_cells_stay_in_their_column():
    table = md_table([{"a": "x|y\nz", "b": -1, "c": 2.5, "d": ["<p>", "q"]}], ["a", "b", "c", "d"])
    assert table.splitlines()[2] == "| x\\|y z | -1 | 2.50 | &lt;p&gt;, q |"
    assert md_cell(None) == ""


def test_str_markdown_escapes_analysts_and_data_ids(store, tmp_path):
    alert_id = decide(store, ANALYST, "see\n\n# injected note <img src=x onerror=alert(4)>")
    out = tmp_path / "drafts"
    write_report_drafts(store, out, alert_ids=[alert_id], today="2024-09-24", reveal_ids=True)
    text = (out / f"str-{alert_id}.md").read_text()
    assert "<script" not in text and "<img" not in text and "onerror=alert(2)>" not in text
    assert "eve&lt;script&gt;alert(3)&lt;/script&gt;  # injected heading" in text
    assert "see  # injected note &lt;img src=x onerror=alert(4)&gt;" in text
    assert "cy&lt;script&gt;alert(1)&lt;/script&gt;" in text  # the transaction id, shown as text
    assert "RB0002&lt;img src=x onerror=alert(2)&gt;\\|# x" in text  # the account, in prose and tables
    assert not [line for line in text.splitlines() if line.startswith("# ") and "report draft" not in line]
    lines = text.splitlines()
    header = next(k for k, line in enumerate(lines) if line.startswith("| txn_id"))
    evidence = lines[header + 2:header + 6]  # the ring's four transactions
    assert [line.split(" ")[1] for line in evidence] == ["cy0", "cy&lt;script&gt;alert(1)&lt;/script&gt;", "cy2", "cy3"]
    for line in evidence:  # as many unescaped pipes as the header: every value stays in its column
        assert len(re.findall(r"(?<!\\)\|", line)) == lines[header].count("|")
    large_value = (out / "large-value-reports.md").read_text()
    assert "<img" not in large_value and "RM0002" in large_value


def test_note_ids_are_deidentified_in_case_file_and_str_draft(store, tmp_path):
    note = ("linked to customer CURL0001 (客户CURL0001账户RM0002), card 6222000000000143, ref XY123456, "
            "txn TX202409180001 on 2024-09-15, also RA0001.")
    alert_id = decide(store, "carol", note)
    name = Pseudonymizer(load_key())
    shown = (f"linked to customer {name('CURL0001', 'customer')} (客户{name('CURL0001', 'customer')}账户"
             f"{name('RM0002')}), card {MASK}, ref {MASK}, txn TX202409180001 on 2024-09-15, also {name('RA0001')}.")
    out = tmp_path / "drafts"
    write_report_drafts(store, out, alert_ids=[alert_id], today="2024-09-24")
    draft = json.loads((out / f"str-{alert_id}.json").read_text())
    assert draft["disposition"]["note"] == shown and DEIDENTIFIED in draft["notes"]
    markdown = (out / f"str-{alert_id}.md").read_text()
    assert md_text(shown) in markdown and md_text(DEIDENTIFIED) in markdown
    page = case_file(store, alert_id)
    assert html.escape(shown) in page and html.escape(DEIDENTIFIED) in page
    for text in (json.dumps(draft), markdown, page):
        assert not re.search(r"CURL0001|RM0002|6222000000000143|XY123456|RA0001", text)
    # with real ids the note is shown as written, and nothing says it was changed
    assert html.escape(note) in case_file(store, alert_id, reveal_ids=True)
    write_report_drafts(store, tmp_path / "real", alert_ids=[alert_id], today="2024-09-24", reveal_ids=True)
    real = json.loads((tmp_path / "real" / f"str-{alert_id}.json").read_text())
    assert real["disposition"]["note"] == note and DEIDENTIFIED not in real["notes"]


def test_a_note_without_ids_is_shown_unchanged(store):
    alert_id = decide(store, "carol", "ring of four, 2024-09-10 to 2024-09-13; amounts fall by 9,000 a day")
    page = case_file(store, alert_id)
    assert "ring of four, 2024-09-10 to 2024-09-13; amounts fall by 9,000 a day" in page
    assert html.escape(DEIDENTIFIED) not in page


@pytest.mark.parametrize("token, is_id", [
    ("123456", True), ("12345", False), ("C00000114", True), ("XY1234", True), ("XY123", False),
    ("6222-0000-0000-0143", True), ("2024-09-15", False), ("2024-09", False), ("2024-09-15T10", False),
    ("pass_through", False), ("9000", False),
])
def test_what_looks_like_an_id(token, is_id):
    assert looks_like_id(token) is is_id


def test_deidentify_note_replaces_known_ids_longest_first_in_one_pass():
    known = {"A1": "account", "A12": "account", "C9": "customer", "T777777": "transaction"}
    name = lambda value, kind="account": f"<{kind}:{value}>"  # noqa: E731
    assert deidentify_note("A12 A1 A1x C9, T777777 and 888888 B1-A1", known, name) == \
        "<account:A12> <account:A1> A1x <customer:C9>, T777777 and [id masked] B1-<account:A1>"


@pytest.mark.parametrize("note, shown", [
    ("Paid 472.82 CNY 3 times in 10 days", "Paid 472.82 CNY 3 times in 10 days"),  # an amount's integer part
    ("1,472 CNY", "1,472 CNY"),  # thousands grouped: one number
    ("4720 CNY", "4720 CNY"),  # a longer run of digits
    ("0.472 of the ceiling", "0.472 of the ceiling"),  # a decimal part
    ("account #472", "account #<customer:472>"),  # the analyst's "number 472"
    ("paid to 472.", "paid to <customer:472>."),  # the end of a sentence
    ("472, 82 and 472 again", "<customer:472>, <account:82> and <customer:472> again"),
    ("客户472账户82", "客户<customer:472>账户<account:82>"),
    ("1234567.89 CNY, card 1234567", "1234567.89 CNY, card [id masked]"),  # an amount is not masked as id-like
])
def test_deidentify_note_replaces_whole_ids_never_digits_of_a_number(note, shown):
    """A note's amount "472.82 CNY" became "CUS-….82 CNY": 472 is an AMLSim customer id
    (found by a hostile sweep). An id stands alone; a number's digits stay as written."""
    known = {"472": "customer", "82": "account"}
    name = lambda value, kind="account": f"<{kind}:{value}>"  # noqa: E731
    assert deidentify_note(note, known, name) == shown
