"""The case file in a real headless browser (Debian's ``chromium``), driven over the
DevTools protocol on a pipe (``--remote-debugging-pipe``: no port, no extra package):
the page loads without console errors or exceptions, asks for nothing over the network,
every image decodes, and no real id appears unless ``--reveal-ids`` was given.

Skipped with the reason when no Chromium is installed (``apt-get install chromium``)."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from flowgraph.cli import main
from flowgraph.store import Store

from test_desk import REAL_ID, alert_of, scanned, store_path  # noqa: F401  (fixtures)

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and os.access(p, os.X_OK)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install Debian's package "
                                "(apt-get install chromium) to run the browser checks of the case file")

#: Longest wait for the browser to load a page, seconds (a safety net, not a timing assert).
LOAD_TIMEOUT_S = 60


class Browser:
    """A headless Chromium spoken to over the DevTools pipe (fd 3: commands in, fd 4:
    replies and events out, each message JSON ending in a NUL byte)."""

    def __init__(self, profile: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def as_fds_3_and_4():  # in the child, before exec: out of the way first, then into place
            os.dup2(to_browser_r, 100)
            os.dup2(from_browser_w, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--no-first-run", "about:blank"],
            close_fds=False, preexec_fn=as_fds_3_and_4, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer, self._next_id, self.events = b"", 0, []

    def close(self):
        os.close(self._to_browser)
        os.close(self._from_browser)
        self.process.kill()
        self.process.wait()

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout_s} s")
            self.events.append(self._read())

    def open(self, url: str) -> tuple[str, dict]:
        """Load ``url`` in a new tab; its session id and the page's checks (images, text)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", LOAD_TIMEOUT_S)
        checks = self.send("Runtime.evaluate", {"returnByValue": True, "expression": """JSON.stringify({
            images: Array.from(document.images).map(i => ({complete: i.complete, width: i.naturalWidth})),
            text: document.documentElement.outerHTML})"""}, session=session)
        return session, json.loads(checks["result"]["value"])


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path / "profile")
    yield b
    b.close()


def problems(events: list[dict]) -> list[str]:
    """Console errors, uncaught exceptions, failed or non-local requests in the events."""
    out = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            out.append(f"exception: {p['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(f"console.{p['type']}: {p.get('args')}")
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            out.append(f"log: {p['entry'].get('text')}")
        elif method == "Network.loadingFailed":
            out.append(f"failed request: {p.get('errorText')}")
        elif method == "Network.requestWillBeSent" and not p["request"]["url"].startswith(("file:", "data:",
                                                                                           "about:")):
            out.append(f"network request: {p['request']['url']}")
    return out


@pytest.mark.parametrize("subject", ["RA0001", "RS0005"])
def test_case_file_in_a_browser(store_path, tmp_path, browser, subject):  # noqa: F811
    alert_id = alert_of(Store(store_path, create=False), subject)
    out = tmp_path / "case.html"
    assert main(["show", alert_id, "--store", str(store_path), "--out", str(out)]) == 0
    _, page = browser.open(out.as_uri())
    assert problems(browser.events) == []
    assert len(page["images"]) >= 3
    assert all(i["complete"] and i["width"] > 0 for i in page["images"]), page["images"]
    assert alert_id in page["text"] and not REAL_ID.search(page["text"])


def test_revealed_case_file_in_a_browser_shows_real_ids(store_path, tmp_path, browser):  # noqa: F811
    alert_id = alert_of(Store(store_path, create=False), "RA0001")
    out = tmp_path / "case.html"
    assert main(["show", alert_id, "--store", str(store_path), "--out", str(out), "--reveal-ids"]) == 0
    _, page = browser.open(out.as_uri())
    assert problems(browser.events) == [] and "RA0001" in page["text"]


def test_the_check_sees_a_broken_image(tmp_path, browser):
    """The browser checks can fail: a page with an undecodable image and a script error."""
    page_path = tmp_path / "broken.html"
    page_path.write_text('<!DOCTYPE html><html><body><img src="data:image/png;base64,AAAA">'
                         "<script>undefined_function()</script></body></html>")
    _, page = browser.open(page_path.as_uri())
    assert page["images"] == [{"complete": True, "width": 0}]
    assert any(p.startswith("exception") for p in problems(browser.events))
