"""End to end in a real browser: `ragkit ui`, Debian's Chromium driven by Playwright.

Uploads three documents at once, asks a question, waits for the streamed answer and its
sources; asks about the PDF, opens its page image and checks, on the image the browser got, that
the highlight covers the characters of the sentence marked in the passage text; asks about the
DOCX and checks that its sentence is highlighted in the text around it. Fails if the browser
requests anything from a host other than 127.0.0.1/localhost, or if `ragkit ui` and the Streamlit
server it starts connect anywhere else (recorded by strace, following every process, when it is
installed, and by Python's audit hook). Also checks that the server's listening socket is bound
to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ragkit import Box
from ragkit.parse import parse_document
from ragkit.privacy import Recorder
from ragkit.serve import free_port

from .conftest import SAMPLE_DOCS
from .servers import answers_200
from .test_show import char_boxes, marked_share

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (apt-get install chromium)"
    ),
]
QUESTION = "What is the minimum password length for Northwind accounts?"
PDF_QUESTION = "Until what date must carried-over annual leave be taken?"
DOCX_QUESTION = "What budget did the board approve for the new Lisbon office?"
HANDBOOK = SAMPLE_DOCS / "employee_handbook.pdf"
MINUTES = SAMPLE_DOCS / "board_minutes_2026_q3.docx"
#: The text of the element that highlights a sentence (Streamlit's ``:yellow-background[…]``),
#: found by its computed background colour, not by a class name Streamlit may change.
HIGHLIGHTED = """root => {
  const found = [];
  for (const element of root.querySelectorAll("span, mark")) {
    const colour = getComputedStyle(element).backgroundColor;
    if (colour && colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent" && element.innerText.trim()) {
      found.push(element.innerText.trim());
    }
  }
  return found;
}"""


def listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets listening on ``port``, read from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                if len(address) == 8:
                    found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
                else:
                    found.add(address)
    return found


@contextmanager
def running_page(command: list[str], port: int, env: Mapping[str, str]) -> Iterator[str]:
    """Start ``command`` (a ``ragkit ui --port PORT``) in its own process group; yield the page URL."""
    proc = subprocess.Popen(
        command, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield wait_until_up(proc, port)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def wait_until_up(proc: subprocess.Popen[bytes], port: int) -> str:
    """The page URL once Streamlit's health check answers on ``port``; fails if ``proc`` dies first."""
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while not answers_200(f"{url}/_stcore/health"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(proc.stdout.read().decode() if proc.stdout else "server died")
        time.sleep(0.5)
    return url


def ui_command(port: int) -> list[str]:
    return [sys.executable, "-m", "ragkit.cli", "ui", "--port", str(port)]


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    return Recorder(tmp_path)


@pytest.fixture
def server(tmp_path: Path, recorder: Recorder) -> Iterator[str]:
    """`ragkit ui` recorded, with a fresh HOME and data dir."""
    port = free_port()
    env = dict(os.environ, HOME=str(tmp_path), RAGKIT_DATA_DIR=str(tmp_path / "data"))
    with running_page(recorder.command([["ui", "--port", str(port)]]), port, env) as url:
        yield url


def open_source(page: Any, turn: int, title: str) -> Any:
    """The expander titled ``title`` under the answer of chat message ``turn``, opened once the script is done."""
    from playwright.sync_api import expect

    answer = page.locator('[data-testid="stChatMessage"]').nth(turn)
    expander = answer.locator('[data-testid="stExpander"]').filter(has_text=title).first
    expect(expander).to_be_visible(timeout=600_000)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=60_000)  # the script has finished
    expander.locator("summary").click()
    return expander


def upload_and_ask(url: str, shot: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """Upload three documents, ask about each and open a cited source of each; return the first
    answer and every URL requested."""
    from playwright.sync_api import expect, sync_playwright

    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1500})
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        try:
            page.goto(url)
            expect(page.get_by_text("No documents here yet")).to_be_visible(timeout=120_000)

            page.locator('input[type="file"]').set_input_files(
                [
                    str(SAMPLE_DOCS / "it_security_policy.md"),
                    str(HANDBOOK),
                    str(MINUTES),
                ]
            )
            page.get_by_role("button", name="Add to collection").click()
            expect(page.get_by_text("it_security_policy.md: added")).to_be_visible(timeout=300_000)
            expect(page.get_by_text("employee_handbook.pdf: added")).to_be_visible(timeout=60_000)
            expect(page.get_by_text("board_minutes_2026_q3.docx: added")).to_be_visible(timeout=60_000)

            chat = page.get_by_placeholder("Ask a question about your documents")
            expect(chat).to_be_enabled(timeout=60_000)
            chat.fill(QUESTION)
            chat.press("Enter")
            source = page.get_by_text("it_security_policy.md · page 1").first
            expect(source).to_be_visible(timeout=600_000)
            source.click()
            expect(page.get_by_text("14 characters").first).to_be_visible(timeout=30_000)
            page.wait_for_timeout(1500)  # let the expander finish opening
            answer_text = page.locator('[data-testid="stChatMessage"]').nth(1).inner_text()

            # A PDF source shows its page, rendered here and served by the page itself, with the
            # sentence marked in the passage text highlighted over its characters on the image.
            chat.fill(PDF_QUESTION)
            chat.press("Enter")
            expander = open_source(page, 3, "employee_handbook.pdf · page 2")
            expect(expander.get_by_text("employee_handbook.pdf, page 2")).to_be_visible(timeout=30_000)  # its caption
            picture = expander.locator("img").first
            expect(picture).to_be_visible(timeout=30_000)
            page.wait_for_function("img => img.complete && img.naturalWidth > 1000", arg=picture.element_handle())
            picture.scroll_into_view_if_needed()
            page.wait_for_function(f"e => ({HIGHLIGHTED})(e).length > 0", arg=expander.element_handle(), timeout=30_000)
            marked = expander.evaluate(HIGHLIGHTED)
            served = tmp_path / "served.png"
            served.write_bytes(page.request.get(picture.evaluate("img => img.src")).body())  # absolute
            words = " ".join(marked[0].split()[:4])  # PDFium finds these on one line of the page
            boxes = char_boxes(HANDBOOK, 2, words)
            assert boxes, words
            span = Box(
                min(b.left for b in boxes),
                min(b.bottom for b in boxes),
                max(b.right for b in boxes),
                max(b.top for b in boxes),
            )
            assert marked_share(served, HANDBOOK, 2, span) > 0.3, words  # yellow under those characters
            after = char_boxes(HANDBOOK, 2, "Exceptions apply only")  # the next sentence stays unmarked
            assert after and marked_share(served, HANDBOOK, 2, after[0]) == 0

            # A DOCX source: its sentence highlighted in the text around it (its section).
            chat.fill(DOCX_QUESTION)
            chat.press("Enter")
            expander = open_source(page, 5, "board_minutes_2026_q3.docx · page 1")
            page.wait_for_function(f"e => ({HIGHLIGHTED})(e).length > 0", arg=expander.element_handle(), timeout=30_000)
            marked = expander.evaluate(HIGHLIGHTED)
            text = " ".join(p.text for p in parse_document(MINUTES).pages)  # the DOCX as ragkit reads it
            assert marked and all(" ".join(m.split()) in " ".join(text.split()) for m in marked), marked
            expander.scroll_into_view_if_needed()
        finally:  # also when a step fails: the screenshot shows why
            page.screenshot(path=str(shot), full_page=True)
            browser.close()
    return answer_text, requests


def test_upload_ask_and_nothing_leaves_localhost(server: str, recorder: Recorder, tmp_path: Path) -> None:
    port = urlsplit(server).port
    assert port and listening_addresses(port) == {"127.0.0.1"}

    shot = tmp_path / "answer.png"
    answer_text, requests = upload_and_ask(server, shot, tmp_path)
    if os.environ.get("PAGE_SCREENSHOT"):
        shutil.copy(shot, os.environ["PAGE_SCREENSHOT"])
    assert "14" in answer_text

    outside = {urlsplit(u).hostname for u in requests if urlsplit(u).scheme not in ("data", "blob")}
    assert outside <= {"127.0.0.1", "localhost"}, outside
    assert requests, "the browser recorded no requests at all"
    assert recorder.findings() == []  # nor did the page server or anything it started
    assert recorder.trace.exists() or not recorder.strace
