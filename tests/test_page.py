"""The Streamlit page, run by Streamlit's own AppTest over a real store and the real 0.5B model."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ragkit import Answer, AnswerStream, Evidence, Preview, Ragkit, Source, Timings, load_settings
from ragkit.answer import REFUSALS
from ragkit.serve import free_port

from .conftest import FIXTURES, ROOT, SAMPLE_DOCS, ragkit_process
from .test_page_browser import listening_addresses, ui_command, wait_until_up

APP = str(ROOT / "ui" / "app.py")


def page(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> AppTest:
    monkeypatch.setenv("RAGKIT_DATA_DIR", str(data_dir))
    app = AppTest.from_file(APP, default_timeout=300)
    app.run()
    assert not app.exception, app.exception
    return app


def test_empty_store_explains_how_to_add_documents(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    app = page(monkeypatch, data_dir)
    assert any("No documents here yet" in info.value for info in app.info)
    assert app.chat_input[0].disabled


def test_a_new_collection_name_is_checked(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    app = page(monkeypatch, data_dir)
    app.sidebar.text_input[0].input("team__manifest").run()
    assert any("__manifest is ragkit's own" in e.value for e in app.sidebar.error)
    assert "“default”" in app.sidebar.subheader[0].value  # still the chosen collection
    app.sidebar.text_input[0].input("contracts-2026").run()
    assert not app.sidebar.error and "“contracts-2026”" in app.sidebar.subheader[0].value


def test_remove_asks_before_it_deletes(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    kit = Ragkit(load_settings({"data_dir": data_dir}))
    assert not kit.ingest([FIXTURES / "good" / "notes.txt"]).failed
    app = page(monkeypatch, data_dir)
    assert "1 document(s)" in app.sidebar.subheader[0].value
    # "Remove" only opens a popover (no button of that name deletes); the button inside does.
    assert not [b for b in app.sidebar.button if b.label == "Remove"]
    confirm = next(b for b in app.sidebar.button if b.label == "Remove it")
    confirm.click().run()
    assert not app.exception, app.exception
    assert "0 document(s)" in app.sidebar.subheader[0].value and kit.sources() == []


@pytest.mark.llm
def test_question_round_trip_with_sources(monkeypatch: pytest.MonkeyPatch, sample_kit: Ragkit) -> None:
    app = page(monkeypatch, sample_kit.settings.data_dir)
    assert "4 document(s)" in app.sidebar.subheader[0].value
    assert any("stay on this computer" in c.value for c in app.caption)
    app.chat_input[0].set_value("What is the minimum password length for Northwind accounts?").run()
    assert not app.exception, app.exception
    assistant = app.chat_message[1]
    text = " ".join(m.value for m in assistant.markdown)
    assert "14" in text
    titles = [e.label for e in app.expander]
    assert any("it_security_policy.md · page 1" in t for t in titles), titles
    passages = " ".join(m.value for e in app.expander for m in e.markdown)
    assert "**" in passages and "14 characters" in passages  # the supporting sentence is highlighted


@pytest.mark.llm
def test_page_answers_through_the_team_servers(
    monkeypatch: pytest.MonkeyPatch, servers: dict[str, str], tmp_path: Path
) -> None:
    """The page on a Chroma server and a model server (``RAGKIT_STORE_URL``/``RAGKIT_LLM_URL``)."""
    for name, value in {**servers, "RAGKIT_COLLECTION": "page-served"}.items():
        monkeypatch.setenv(name, value)
    writer = Ragkit(load_settings({"data_dir": tmp_path / "writer"}))  # another machine ingests
    assert not writer.ingest([SAMPLE_DOCS]).failed
    app = page(monkeypatch, tmp_path / "reader")
    assert "4 document(s)" in app.sidebar.subheader[0].value
    privacy = " ".join(c.value for c in app.caption)
    assert f"Chroma server at {servers['RAGKIT_STORE_URL']} (this machine)" in privacy
    assert f"model server at {servers['RAGKIT_LLM_URL']} (this machine)" in privacy
    assert "stay on this computer" not in privacy
    assert not app.sidebar.selectbox[1:] and any("served by" in c.value for c in app.sidebar.caption)
    app.chat_input[0].set_value("What is the minimum password length for Northwind accounts?").run()
    assert not app.exception, app.exception
    assert "14" in " ".join(m.value for m in app.chat_message[1].markdown)
    assert any("it_security_policy.md · page 1" in e.label for e in app.expander)


@pytest.mark.parametrize(
    ("pieces", "final", "declined", "caption"),
    [
        (["14 characters"], "14 characters [1]", False, None),  # only the checked marks added
        (["12 characters"], "14 characters [1]", False, "Corrected by the checks"),
        (["25 days"], REFUSALS["en"], True, "(withheld:"),
    ],
)
def test_correction_caption_only_when_the_checked_answer_differs(
    monkeypatch: pytest.MonkeyPatch,
    sample_kit: Ragkit,
    pieces: list[str],
    final: str,
    declined: bool,
    caption: str | None,
) -> None:
    """The page's handling of the stream (a scripted ``ask`` under the real stream, so that the
    streamed text and the checked answer can differ on purpose)."""

    def scripted(kit: Ragkit, question: str, **_: object) -> AnswerStream:
        def ask(on_token: Callable[[str], None], on_preview: Callable[[list[Preview]], None]) -> Answer:
            on_preview([])
            for piece in pieces:
                on_token(piece)
            return Answer(question, final, declined, [], Timings(), "scripted")

        return AnswerStream(ask)

    monkeypatch.setattr(Ragkit, "stream", scripted)
    app = page(monkeypatch, sample_kit.settings.data_dir)
    app.chat_input[0].set_value("What is the minimum password length?").run()
    assert not app.exception, app.exception
    shown = (" ".join(m.value for m in app.chat_message[1].markdown) + " ".join(i.value for i in app.info)).replace(
        "\\",
        "",  # the page escapes Markdown
    )
    assert final in shown
    if caption == "Corrected by the checks":
        assert pieces[0] not in shown  # the streamed text was replaced, not kept beside the answer
    captions = [c.value for c in app.chat_message[1].caption]
    marked = [c for c in captions if "Corrected by the checks" in c or c.startswith("(withheld:")]
    assert marked == ([] if caption is None else [next(c for c in captions if caption in c)])


def test_pdf_source_shows_its_page_and_its_neighbours(monkeypatch: pytest.MonkeyPatch, sample_kit: Ragkit) -> None:
    """A cited PDF sentence: its page rendered beside the passage, the next page a click away
    (a scripted ``ask`` names the evidence, so that the page's part is what is tested)."""
    handbook = str((SAMPLE_DOCS / "employee_handbook.pdf").resolve())
    sentence = "Carried-over days must be taken by 31 March; any carried-over days that are still unused after that date lapse and are not paid out."

    def scripted(kit: Ragkit, question: str, **_: object) -> AnswerStream:
        def ask(on_token: Callable[[str], None], on_preview: Callable[[list[Preview]], None]) -> Answer:
            on_token("31 March")
            source = Source(1, handbook, 2, "c1", sentence, 0.7, cited=True)
            evidence = [Evidence(1, sentence, handbook, 2, "c1", 1)]
            return Answer(question, "31 March [1]", False, [source], Timings(), "scripted", evidence=evidence)

        return AnswerStream(ask)

    monkeypatch.setattr(Ragkit, "stream", scripted)
    app = page(monkeypatch, sample_kit.settings.data_dir)
    app.chat_input[0].set_value("Until what date must carried-over leave be taken?").run()
    assert not app.exception, app.exception
    source = app.chat_message[1].expander[0]
    assert "employee_handbook.pdf · page 2" in source.label
    assert [b.proto.label for b in source.get("download_button")] == ["Download employee_handbook.pdf"]
    [picture] = source.get("image")
    assert picture.captions == ["employee_handbook.pdf, page 2"]
    assert all("/media/" in url and "://" not in url for url in picture.value)  # served by the page itself
    source.number_input[0].set_value(3).run()
    assert not app.exception, app.exception
    assert app.chat_message[1].expander[0].get("image")[0].captions == ["employee_handbook.pdf, page 3"]


@pytest.mark.llm
def test_declined_answer_is_shown_as_such(monkeypatch: pytest.MonkeyPatch, sample_kit: Ragkit) -> None:
    app = page(monkeypatch, sample_kit.settings.data_dir)
    app.chat_input[0].set_value("Who painted the Mona Lisa?").run()
    assert not app.exception, app.exception
    assert any(REFUSALS["en"] in info.value for info in app.info)
    assert any("Closest passages" in c.value for c in app.caption)


def test_exposed_page_asks_for_the_password_first(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("RAGKIT_UI_EXPOSED", "1")
    monkeypatch.setenv("RAGKIT_UI_PASSWORD", "correct horse")
    app = page(monkeypatch, data_dir)
    assert any("reachable from other computers" in w.value for w in app.warning)
    assert not app.chat_input and not app.title  # nothing of the page before the password
    app.text_input[0].input("wrong").run()
    assert any("Wrong password" in e.value for e in app.error) and not app.title
    app.text_input[0].input("correct horse").run()
    assert app.title[0].value == "Ask your documents"


def test_exposed_page_without_password_refuses(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("RAGKIT_UI_EXPOSED", "1")
    monkeypatch.delenv("RAGKIT_UI_PASSWORD", raising=False)
    app = page(monkeypatch, data_dir)
    assert any("No password is set" in e.value for e in app.error) and not app.title


def test_ui_refuses_a_network_address_without_expose_and_password(tmp_path: Path) -> None:
    env = {"RAGKIT_DATA_DIR": str(tmp_path / "data"), "RAGKIT_UI_PASSWORD": ""}
    result = ragkit_process("ui", "--host", "0.0.0.0", env=env)
    assert result.returncode == 2 and "--expose" in result.stderr
    result = ragkit_process("ui", "--host", "0.0.0.0", "--expose", env=env)
    assert result.returncode == 2 and "RAGKIT_UI_PASSWORD" in result.stderr


@pytest.mark.parametrize("stop", ["SIGTERM to ragkit ui", "Ctrl-C"])
def test_stopping_ragkit_ui_stops_the_page_server(stop: str, tmp_path: Path) -> None:
    """A service manager's SIGTERM to ``ragkit ui`` alone, or a Ctrl-C in its terminal (SIGINT to
    the whole process group), stops Streamlit too: it never runs on without the command."""
    port = free_port()
    env = {**os.environ, "RAGKIT_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        ui_command(port), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_until_up(proc, port)
        children = [int(pid) for pid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        assert children, "ragkit ui should run Streamlit as its child"
        if stop == "Ctrl-C":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert not listening_addresses(port)
