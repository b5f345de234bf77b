"""``ragkit serve``: the real server process with the real 0.5B model, driven by the ``openai``
package and plain HTTP, plus fast checks of the wire format and the guards without a model.

One server runs for the module, the way a cautious team would expose it: on 0.0.0.0 with
``--expose`` and a bearer token, no queue (``--queue 0``) and a 1 MiB upload limit, so the same
process shows the 401, the 413 and the 503. The sample documents reach it through the upload
endpoint, as a client's would.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.testclient import TestClient

from ragkit import Answer, AnswerStream, Ragkit, Timings, load_settings
from ragkit.api import Limits, check_exposure, create_app
from ragkit.api_guard import TOKEN_ENV, Busy, Gate
from ragkit.api_openai import ChatRequest, collection_of, conversation
from ragkit.errors import ConfigError
from ragkit.privacy import Recorder
from ragkit.serve import free_port

from .conftest import SAMPLE_DOCS, ragkit_process
from .servers import ServerError, answers_200, log_tail, stop
from .test_page_browser import listening_addresses

QUESTION = "What is the minimum password length for Northwind accounts?"
REFUSAL_START = "Not in your documents"


# -- the wire format and the guards, without a model ----------------------------------------


def _messages(*turns: tuple[str, Any]) -> Any:
    return ChatRequest.model_validate({"messages": [{"role": r, "content": c} for r, c in turns]}).messages


def test_the_last_user_message_is_the_question_and_the_turns_before_it_the_history() -> None:
    messages = _messages(
        ("system", "You are helpful."),
        ("user", "first?"),
        ("assistant", "one [1]"),
        ("user", "second?"),
        ("assistant", "two [1]"),
        (
            "user",
            [
                {"type": "text", "text": "and "},
                {"type": "image_url", "image_url": {}},
                {"type": "text", "text": "third?"},
            ],
        ),
    )
    assert conversation(messages) == ("and third?", [("first?", "one [1]"), ("second?", "two [1]")])
    assert conversation(_messages(("user", "alone?"))) == ("alone?", [])
    for bad in (_messages(("user", "q?"), ("assistant", "a")), _messages(("system", "x")), _messages(("user", " "))):
        with pytest.raises(ValueError):
            conversation(bad)


def test_model_names_a_collection_or_the_default() -> None:
    assert collection_of("") is None and collection_of("ragkit") is None
    assert collection_of("contracts") == "contracts"


def _answer(text: str, declined: bool = False) -> Answer:
    return Answer("q", text, declined, [], Timings(), "m")


def _streamed(pieces: list[str], answer: Answer) -> AnswerStream:
    """A stream whose model wrote ``pieces`` and whose checks made ``answer`` of them."""

    def ask(on_token: Any, on_preview: Any) -> Answer:
        for piece in pieces:
            on_token(piece)
        return answer

    stream = AnswerStream(ask)
    list(stream)
    return stream


def test_a_plain_client_ends_with_the_checked_text_as_the_cli_prints_it() -> None:
    assert _streamed(["14 characters"], _answer("14 characters [1]")).closing == " [1]"
    assert _streamed(["14 characters [1]"], _answer("14 characters [1]")).closing == ""
    corrected = _streamed(["25 days [1]"], _answer("5 days [1]")).closing
    assert corrected == "\n(as checked) 5 days [1]"
    withheld = _answer("Not in your documents.", declined=True)
    assert _streamed(["25 days"], withheld).closing.endswith("\nNot in your documents.")
    assert "(withheld: " in _streamed(["25 days"], withheld).closing
    assert _streamed([], withheld).closing == "Not in your documents."


def test_gate_lets_one_generate_queues_some_and_refuses_the_rest() -> None:
    async def scenario() -> list[str]:
        gate, log = Gate(waiting=1), []
        release = anyio.Event()

        async def ask(name: str) -> None:
            try:
                async with gate.turn(5):
                    log.append(f"{name} runs")
                    await release.wait()
            except Busy as exc:
                log.append(f"{name} refused, retry after {exc.retry_after}")

        async with anyio.create_task_group() as tasks:
            for name in ("a", "b", "c"):
                tasks.start_soon(ask, name)
                await anyio.sleep(0.05)
            release.set()
        return log

    assert anyio.run(scenario) == ["a runs", "c refused, retry after 20", "b runs"]


def test_gate_refuses_a_request_that_waits_too_long() -> None:
    async def scenario() -> str:
        gate, said = Gate(waiting=4), []

        async def second() -> None:
            try:
                async with gate.turn(0.1):
                    said.append("ran")
            except Busy as exc:
                said.append(str(exc))

        async with gate.turn(5), anyio.create_task_group() as tasks:
            tasks.start_soon(second)
            await anyio.sleep(0.3)
        return said[0]

    assert anyio.run(scenario).startswith("waited 0.1 s for the model")


def test_non_loopback_needs_expose_and_a_token() -> None:
    check_exposure("127.0.0.1", False, None)
    check_exposure("::1", False, None)
    with pytest.raises(ConfigError, match="add --expose"):
        check_exposure("0.0.0.0", False, "t")
    with pytest.raises(ConfigError, match=TOKEN_ENV):
        check_exposure("0.0.0.0", True, None)
    check_exposure("0.0.0.0", True, "t")


def test_cli_refuses_to_expose_without_a_token(tmp_path: Path) -> None:
    port = str(free_port("0.0.0.0"))
    env = {"RAGKIT_DATA_DIR": str(tmp_path), TOKEN_ENV: ""}
    result = ragkit_process("serve", "--host", "0.0.0.0", "--expose", "--port", port, env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"an exposed API needs a bearer token: set {TOKEN_ENV}" in result.stderr


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app over an empty store (no model, no embedder loaded), token set, small limits."""
    kit = Ragkit(load_settings({"data_dir": tmp_path / "data"}))
    app = create_app(kit, Limits(max_body_kb=1, max_upload_mb=1), token="s3cret")
    with TestClient(app, headers={"Authorization": "Bearer s3cret"}) as test_client:
        yield test_client


def test_requests_need_the_token_except_health(client: TestClient) -> None:
    assert client.get("/health", headers={"Authorization": ""}).json()["status"] == "ok"
    missing = client.get("/v1/models", headers={"Authorization": ""})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["message"].startswith("missing bearer token")
    wrong = client.get("/v1/models", headers={"Authorization": "Bearer s3cret!"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/models").json()["data"][0]["id"] == "default"


def test_bodies_over_the_limit_or_without_a_length_are_refused(client: TestClient) -> None:
    big = client.post("/v1/chat/completions", content=b"x" * 2000, headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.json()["error"]["code"] == "request_too_large"
    chunked = client.post("/v1/search", content=iter([b'{"query": "x"}']))
    assert chunked.status_code == 411
    upload = client.post("/v1/documents", files={"file": ("big.txt", b"x" * (2 * 1024 * 1024))})
    assert upload.status_code == 413


def test_errors_are_openai_style_with_the_cli_reasons(client: TestClient) -> None:
    last_is_answer = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
    )
    assert last_is_answer.status_code == 400
    assert last_is_answer.json()["error"]["message"] == "the last message must be the user's question"
    assert client.post("/v1/chat/completions", json={"messages": []}).status_code == 400
    empty = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "q?"}]})
    assert empty.status_code == 404 and empty.json()["error"]["code"] == "empty_collection"
    assert "has no documents" in empty.json()["error"]["message"]
    bad_name = client.get("/v1/documents", params={"collection": "x"})
    assert bad_name.status_code == 400 and "invalid collection name 'x'" in bad_name.json()["error"]["message"]
    assert client.delete("/v1/documents", params={"path": "/nowhere.md"}).status_code == 404
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404  # no CDN scripts


# -- the real server, the real model ----------------------------------------------------------


@dataclass
class Server:
    """A running ``ragkit serve``: its base URL, token, log and process."""

    url: str
    token: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    def http(self, token: str | None = None) -> httpx.Client:
        """A direct HTTP client (no proxy from the environment) sending ``token`` (default: the
        right one; ``""``: none)."""
        given = self.token if token is None else token
        headers = {"Authorization": f"Bearer {given}"} if given else {}
        return httpx.Client(base_url=self.url, headers=headers, trust_env=False, timeout=600)

    def openai(self) -> Any:
        """The ``openai`` package's client for this server, retries off so a 503 is seen as one."""
        from openai import OpenAI

        return OpenAI(
            base_url=f"{self.url}/v1", api_key=self.token, max_retries=0, http_client=httpx.Client(trust_env=False)
        )


def start_server(
    data_dir: Path,
    log: Path,
    *args: str,
    host: str = "0.0.0.0",
    recorder: Recorder | None = None,
    env: Mapping[str, str] | None = None,
) -> Server:
    """Start ``ragkit serve ARGS`` on ``host`` with a fresh token (``--expose`` beyond loopback),
    recorded by ``recorder`` if given; wait until /health answers."""
    token, port = secrets.token_urlsafe(16), free_port(host)
    argv = ["serve", "--host", host, "--port", str(port), *([] if host == "127.0.0.1" else ["--expose"]), *args]
    command = recorder.command([argv]) if recorder else [sys.executable, "-m", "ragkit.cli", *argv]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RAGKIT_DATA_DIR": str(data_dir), TOKEN_ENV: token, **(env or {})},
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if answers_200(f"{url}/health"):
            return Server(url, token, data_dir, log, process)
        if process.poll() is not None:
            break
        threading.Event().wait(0.2)
    stop(process)
    raise ServerError(f"ragkit serve did not start; log {log}:\n{log_tail(log)}")


def upload(server: Server, *files: Path) -> httpx.Response:
    with server.http() as http:
        return http.post("/v1/documents", files=[("file", (f.name, f.read_bytes())) for f in files])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, isolated_env: None) -> Iterator[Server]:
    """The exposed server with the sample documents uploaded."""
    folder = tmp_path_factory.mktemp("api")
    running = start_server(folder / "data", folder / "serve.log", "--queue", "0", "--max-upload-mb", "1")
    try:
        uploaded = upload(running, *sorted(p for p in SAMPLE_DOCS.iterdir() if p.is_file()))
        assert uploaded.status_code == 200, uploaded.text
        yield running
    finally:
        stop(running.process)


def _extension(obj: Any) -> dict[str, Any]:
    """The ``ragkit`` field of a completion or chunk as the openai package parsed it."""
    return obj.model_dump()["ragkit"]


@pytest.mark.llm
def test_exposed_server_says_so_listens_everywhere_and_wants_the_token(server: Server) -> None:
    assert "WARNING: listening on 0.0.0.0" in server.log.read_text()
    assert "0.0.0.0" in listening_addresses(int(server.url.rsplit(":", 1)[1]))
    with server.http(token="") as http:
        assert http.get("/health").status_code == 200
        assert http.get("/v1/documents").status_code == 401
        assert (
            http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}).status_code
            == 401
        )
    with server.http(token=server.token + "x") as http:
        assert http.get("/v1/models").status_code == 401
    from openai import AuthenticationError, OpenAI

    stranger = OpenAI(
        base_url=f"{server.url}/v1", api_key="guess", max_retries=0, http_client=httpx.Client(trust_env=False)
    )
    with pytest.raises(AuthenticationError):
        stranger.models.list()


@pytest.mark.llm
def test_uploaded_documents_are_listed_and_searchable(server: Server) -> None:
    with server.http() as http:
        listed = http.get("/v1/documents").json()["data"]
        assert sorted(Path(d["path"]).name for d in listed) == sorted(
            p.name for p in SAMPLE_DOCS.iterdir() if p.is_file()
        )
        assert all("/uploads/" in d["path"] for d in listed)  # stored under the data dir
        found = http.get("/v1/search", params={"query": "minimum password length", "top_k": 3}).json()["data"]
        posted = http.post("/v1/search", json={"query": "minimum password length", "top_k": 3}).json()["data"]
    assert found == posted and len(found) == 3
    assert Path(found[0]["file"]).name == "it_security_policy.md" and "14" in found[0]["text"]
    assert [m.id for m in server.openai().models.list()] == ["default"]


@pytest.mark.llm
def test_openai_client_gets_a_cited_answer(server: Server) -> None:
    completion = server.openai().chat.completions.create(
        model="ragkit", messages=[{"role": "user", "content": QUESTION}]
    )
    text = completion.choices[0].message.content
    assert "14" in text and "[1]" in text, text
    ragkit = _extension(completion)
    assert ragkit["declined"] is False and ragkit["answer"] == text
    assert any(Path(e["file"]).name == "it_security_policy.md" and "14" in e["sentence"] for e in ragkit["evidence"])
    assert ragkit["sources"] and ragkit["timings"]["total_ms"] > 0
    assert completion.usage.completion_tokens > 0
    assert completion.usage.prompt_tokens_details.cached_tokens <= completion.usage.prompt_tokens


@pytest.mark.llm
def test_openai_client_streams_the_answer_then_the_extension(server: Server) -> None:
    chunks = list(
        server.openai().chat.completions.create(
            model="default",
            messages=[{"role": "user", "content": QUESTION}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "14" in text, text
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 2  # streamed, not sent at once
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    ragkit = _extension(final)
    assert ragkit["declined"] is False and "14" in ragkit["answer"]
    assert text.endswith(ragkit["answer"].split()[-1])  # the client's text ends with the checked answer
    assert ragkit["evidence"] and ragkit["change"] in ("unchanged", "marks", "corrected")
    assert any("previews" in (c.model_dump().get("ragkit") or {}) for c in chunks)  # the closest sentences came first
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


@pytest.mark.llm
def test_a_follow_up_is_rewritten_with_the_previous_turn(server: Server) -> None:
    client = server.openai()
    first = client.chat.completions.create(model="ragkit", messages=[{"role": "user", "content": QUESTION}])
    messages = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "Is MFA required too?"},
    ]
    follow_up = client.chat.completions.create(model="ragkit", messages=messages)
    ragkit = _extension(follow_up)
    assert ragkit["question"] == "Is MFA required too?"
    assert ragkit["standalone_question"] != ragkit["question"], ragkit  # rewritten with the previous turn
    assert follow_up.choices[0].message.content


@pytest.mark.llm
def test_a_question_the_documents_do_not_answer_is_declined(server: Server) -> None:
    client = server.openai()
    for stream in (False, True):
        reply = client.chat.completions.create(
            model="ragkit", messages=[{"role": "user", "content": "What is the capital of Australia?"}], stream=stream
        )
        if stream:
            chunks = list(reply)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            ragkit = _extension(next(c for c in chunks if c.choices and c.choices[0].finish_reason))
        else:
            text, ragkit = reply.choices[0].message.content, _extension(reply)
        assert ragkit["declined"] is True and ragkit["evidence"] == []
        assert text.strip().endswith(ragkit["answer"]) and ragkit["answer"].startswith(REFUSAL_START)


@pytest.mark.llm
def test_upload_then_ask_then_remove(server: Server, tmp_path: Path) -> None:
    note = tmp_path / "cafeteria.md"
    note.write_text(
        "# Northwind cafeteria\n\nThe Northwind cafeteria on the ground floor opens at 7:15 every weekday "
        "and closes at 15:30.\n",
        encoding="utf-8",
    )
    uploaded = upload(server, note)
    assert uploaded.status_code == 200 and uploaded.json()["added"] == 1, uploaded.text
    completion = server.openai().chat.completions.create(
        model="ragkit", messages=[{"role": "user", "content": "At what time does the Northwind cafeteria open?"}]
    )
    ragkit = _extension(completion)
    assert "7:15" in completion.choices[0].message.content, completion.choices[0].message.content
    assert any(Path(e["file"]).name == "cafeteria.md" for e in ragkit["evidence"])
    stored = next(e["file"] for e in ragkit["evidence"] if Path(e["file"]).name == "cafeteria.md")
    with server.http() as http:
        assert http.delete("/v1/documents", params={"path": stored}).json()["removed"] is True
        assert http.delete("/v1/documents", params={"path": stored}).status_code == 404
        assert "cafeteria.md" not in {Path(d["path"]).name for d in http.get("/v1/documents").json()["data"]}


@pytest.mark.llm
def test_an_upload_over_the_limit_is_refused(server: Server, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("Northwind filler text.\n" * 100_000, encoding="utf-8")  # 2.3 MB, the limit is 1 MiB
    refused = upload(server, big)
    assert refused.status_code == 413, refused.text
    assert "over this server's limit" in refused.json()["error"]["message"]


@pytest.mark.llm
def test_a_full_queue_answers_503_with_retry_after(server: Server) -> None:
    """With --queue 0, a second question while one is generated is refused at once."""
    client = server.openai()
    from openai import APIStatusError

    first = client.chat.completions.create(
        model="ragkit", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = iter(first)
    for chunk in chunks:  # until the first answer holds the model: its previews or text have come
        if (chunk.choices and chunk.choices[0].delta.content) or "previews" in (chunk.model_dump().get("ragkit") or {}):
            break
    for stream in (False, True):
        with pytest.raises(APIStatusError) as refused:
            client.chat.completions.create(
                model="ragkit", messages=[{"role": "user", "content": QUESTION}], stream=stream
            )
        assert refused.value.status_code == 503
        assert int(refused.value.response.headers["Retry-After"]) >= 1
        assert refused.value.response.json()["error"]["code"] == "busy"
    rest = list(chunks)  # the first answer is not disturbed
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in rest)
    again = client.chat.completions.create(
        model="ragkit", messages=[{"role": "user", "content": "Who painted the Mona Lisa?"}]
    )
    assert _extension(again)["declined"] is True  # the model is free again


@pytest.mark.llm
def test_a_serve_session_makes_no_outside_connection(tmp_path: Path) -> None:
    """`ragkit serve` under strace and audit hooks: upload, ask (streamed and not), search."""
    recorder = Recorder(tmp_path)
    running = start_server(
        tmp_path / "data", tmp_path / "serve.log", host="127.0.0.1", recorder=recorder, env={"HOME": str(tmp_path)}
    )
    try:
        assert upload(running, *sorted(p for p in SAMPLE_DOCS.iterdir() if p.is_file())).status_code == 200
        client = running.openai()
        reply = client.chat.completions.create(model="ragkit", messages=[{"role": "user", "content": QUESTION}])
        assert "14" in reply.choices[0].message.content
        streamed = list(
            client.chat.completions.create(
                model="ragkit", messages=[{"role": "user", "content": QUESTION}], stream=True
            )
        )
        assert any(c.choices and c.choices[0].finish_reason == "stop" for c in streamed)
        with running.http() as http:
            assert http.get("/v1/search", params={"query": "password"}).json()["data"]
    finally:
        stop(running.process)
    assert recorder.findings() == [], log_tail(running.log)
    assert recorder.trace.exists() or not recorder.strace


@pytest.mark.llm
def test_an_answer_over_the_timeout_is_cut_off(server: Server, tmp_path: Path) -> None:
    """A second server on the same store with --timeout 1: loading the model alone takes longer."""
    from openai import APIError, APIStatusError

    slow = start_server(server.data_dir, tmp_path / "serve.log", "--timeout", "1", host="127.0.0.1")
    try:
        client = slow.openai()
        with pytest.raises(APIStatusError) as cut:
            client.chat.completions.create(model="ragkit", messages=[{"role": "user", "content": QUESTION}])
        assert cut.value.status_code == 504 and "longer than 1 s" in cut.value.message
        with pytest.raises(APIError, match="longer than 1 s"):  # a started stream ends with an error event
            list(
                client.chat.completions.create(
                    model="ragkit", messages=[{"role": "user", "content": QUESTION}], stream=True
                )
            )
    finally:
        stop(slow.process)
