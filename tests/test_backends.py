"""Team backends against real servers on loopback: a Chroma server (``chroma run``) and
llama-cpp-python's OpenAI-compatible server with the 0.5B model, compared with the embedded mode.

Every test writes to a collection of its own, so they share the session's servers safely.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ragkit import Ragkit, load_settings
from ragkit.config import MANIFEST_SUFFIX
from ragkit.endpoints import parse, where_data_goes
from ragkit.errors import ConfigError, RagkitError, ServerError
from ragkit.llm import Generation
from ragkit.llm_server import _pieces
from ragkit.records import Chunk
from ragkit.store import chroma, consistency, mirror

from .conftest import SAMPLE_DOCS, ragkit_cli
from .test_eval import DATA as EVAL_DATA

QUESTIONS = [
    "What is the minimum password length for Northwind accounts?",
    "在一线城市出差时，每晚的住宿费上限是多少？",
    "Are employees allowed to bring their dog to the office?",
]


def cli_json(*args: str, env: dict[str, str] | None = None) -> object:
    result = ragkit_cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def store_only(servers: dict[str, str]) -> dict[str, str]:
    return {"RAGKIT_STORE_URL": servers["RAGKIT_STORE_URL"]}


def machines(servers: dict[str, str], tmp_path: Path, *names: str) -> list[Ragkit]:
    """One Ragkit per name on the store server, each with a data dir (a mirror) of its own."""
    url = servers["RAGKIT_STORE_URL"]
    return [Ragkit(load_settings({"data_dir": tmp_path / n, "store_url": url}, environ={})) for n in names]


def sources(data_dir: Path, collection: str, env: dict[str, str] | None = None) -> list[tuple[str, str, int]]:
    rows = cli_json("--data-dir", str(data_dir), "sources", "-c", collection, "--json", env=env)
    return [(r["path"], r["sha256"], r["chunks"]) for r in rows]  # type: ignore[union-attr]


def search(data_dir: Path, collection: str, question: str, env: dict[str, str] | None = None) -> list[tuple]:
    rows = cli_json("--data-dir", str(data_dir), "search", question, "-c", collection, "--json", env=env)
    return [(r["chunk_id"], round(r["score"], 4)) for r in rows]  # type: ignore[union-attr]


# -- privacy: no host nobody named -------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--store-url", "--llm-url"])
def test_a_remote_url_is_refused_unless_its_host_is_allowed(flag: str, tmp_path: Path) -> None:
    refused = ragkit_cli("--data-dir", str(tmp_path), flag, "http://10.20.30.40:8000", "sources")
    assert refused.returncode == 2
    assert "10.20.30.40 is not this machine" in refused.stderr and "--allow-remote 10.20.30.40" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    by_env = ragkit_cli(
        "--data-dir",
        str(tmp_path),
        "sources",
        env={"RAGKIT_" + flag[2:].upper().replace("-", "_"): "http://gpu.corp:1"},
    )
    assert by_env.returncode == 2 and "gpu.corp is not this machine" in by_env.stderr


def test_endpoint_rules() -> None:
    assert parse("store_url", "http://localhost:8000", ()).local
    assert parse("llm_url", "http://[::1]:8001/v1", ()).port == 8001
    assert parse("llm_url", "https://gpu.corp/v1", ["GPU.corp"]).port == 443
    for bad in ("ftp://127.0.0.1/", "127.0.0.1:8000", "http://user:pw@127.0.0.1:1", "http://127.0.0.1:99999"):
        with pytest.raises(ConfigError):
            parse("store_url", bad, ())
    with pytest.raises(ConfigError, match="allow-remote 192.168.1.5"):
        load_settings({"store_url": "http://192.168.1.5:8000"}, environ={})
    allowed = load_settings(
        {"store_url": "http://192.168.1.5:8000"}, environ={"RAGKIT_ALLOW_REMOTE": "a.corp, 192.168.1.5"}
    )
    assert allowed.allow_remote == ("a.corp", "192.168.1.5")
    assert set(allowed.endpoints()) == {"store_url"}


def test_the_page_says_which_machines_see_the_documents() -> None:
    assert "all stay on this computer" in where_data_goes({})
    named = load_settings(
        {"store_url": "http://127.0.0.1:8000", "llm_url": "https://gpu.corp/v1", "allow_remote": ["gpu.corp"]},
        environ={},
    ).endpoints()
    line = where_data_goes(named)
    assert "Chroma server at http://127.0.0.1:8000 (this machine)" in line
    assert "model server at https://gpu.corp/v1 (a host allowed in allow_remote)" in line
    assert "this computer" not in line
    assert "language model runs on this computer" in where_data_goes({"store_url": named["store_url"]})


def test_an_unreachable_model_server_is_a_server_error_with_its_own_exit_code() -> None:
    from ragkit import endpoints
    from ragkit.llm_server import RemoteLLM
    from ragkit.serve import free_port

    closed = endpoints.parse("llm_url", f"http://127.0.0.1:{free_port()}", ())
    with pytest.raises(ServerError, match="model server http://127.0.0.1:") as raised:
        RemoteLLM(closed, "any")
    assert raised.value.exit_code == 6


def test_a_reply_cut_short_by_the_model_server_is_an_error() -> None:
    def events(*finish: str | None) -> list[dict[str, object]]:
        return [{"choices": [{"delta": {"content": f"w{i} "}, "finish_reason": f}]} for i, f in enumerate(finish)]

    stats = Generation()
    usage = {
        "choices": [],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 5}},
    }
    assert list(_pieces(iter([*events(None, "stop"), usage]), stats, "api")) == ["w0 ", "w1 "]
    assert (stats.prompt_tokens, stats.cached_tokens, stats.completion_tokens) == (7, 5, 2)
    cut = _pieces(iter(events(None, None)), Generation(), "http://127.0.0.1:1/v1")
    with pytest.raises(ServerError, match="cut short"):
        list(cut)
    failed = _pieces(iter([*events(None), {"error": {"message": "out of memory"}}]), Generation(), "api")
    with pytest.raises(ServerError, match="api: out of memory"):
        list(failed)


# -- the store server ----------------------------------------------------------------------------


def test_chromadbs_private_http_session_gets_the_store_timeout(store_server: dict[str, str], tmp_path: Path) -> None:
    # ragkit sets chromadb's private httpx session's timeout (chromadb has no setting for it):
    # when a chromadb release moves that session, this fails instead of the timeout silently going.
    import httpx

    from ragkit.store import SERVER_TIMEOUT_SECONDS

    [kit] = machines(store_server, tmp_path, "timeout")
    session = kit.store._chroma()._server._session
    assert isinstance(session, httpx.Client) and session.timeout.read == SERVER_TIMEOUT_SECONDS


def test_ingest_reingest_remove_and_search_match_the_embedded_store(
    store_server: dict[str, str], docs_copy: Path, tmp_path: Path
) -> None:
    env, name = store_only(store_server), "backend-store"
    embedded, first, second = tmp_path / "embedded", tmp_path / "machine-a", tmp_path / "machine-b"
    for data_dir, e in ((embedded, None), (first, env)):
        result = ragkit_cli("--data-dir", str(data_dir), "ingest", "-q", str(docs_copy), "-c", name, env=e)
        assert result.returncode == 0, result.stderr
    # A second ragkit (another machine: its own data dir, so its own mirror) sees the same store.
    assert sources(first, name, env) == sources(second, name, env) == sources(embedded, name)
    for question in QUESTIONS:
        assert search(second, name, question, env) == search(embedded, name, question)

    again = ragkit_cli("--data-dir", str(second), "ingest", "-q", str(docs_copy), "-c", name, "--json", env=env)
    assert again.returncode == 0 and json.loads(again.stdout)["unchanged"] == 4, again.stdout

    policy = docs_copy / "it_security_policy.md"
    policy.write_text(policy.read_text().replace("14 characters", "16 characters"))
    changed = ragkit_cli("--data-dir", str(first), "ingest", "-q", str(docs_copy), "-c", name, "--json", env=env)
    assert json.loads(changed.stdout)["updated"] == 1, changed.stdout
    hits = cli_json("--data-dir", str(second), "search", QUESTIONS[0], "-c", name, "--json", env=env)
    assert "16 characters" in hits[0]["text"] and not any("14 characters" in h["text"] for h in hits)  # type: ignore[index]

    removed = ragkit_cli("--data-dir", str(second), "remove", str(policy), "-c", name, env=env)
    assert removed.returncode == 0, removed.stderr
    assert [Path(p).name for p, _, _ in sources(first, name, env)] == [
        "board_minutes_2026_q3.docx",
        "employee_handbook.pdf",
        "差旅报销制度.md",
    ]
    kit = Ragkit(load_settings({"data_dir": first, "store_url": env["RAGKIT_STORE_URL"]}))
    assert all(c.ok for c in kit.check_store() if c.collection == name), kit.check_store()
    # The server records the embedder: a machine with another embedding model is refused.
    with pytest.raises(RagkitError, match="was built with embedder"):
        Ragkit(
            load_settings({"data_dir": tmp_path / "machine-c", "store_url": env["RAGKIT_STORE_URL"]})
        ).store.check_embedder(name, "some-other-embedder")


def test_a_reader_fetches_the_document_records_only_after_a_change(
    store_server: dict[str, str], docs_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "backend-changes"
    writer, reader = machines(store_server, tmp_path, "writer", "reader")
    files = sorted(docs_copy.iterdir())
    assert not writer.ingest(files[:2], collection=name).failed
    monkeypatch.setattr(mirror, "SYNC_SECONDS", 0.0)  # every read syncs
    manifest = reader.store._manifest(name)
    fetches: list[object] = []
    get = manifest.get
    monkeypatch.setattr(manifest, "get", lambda **kw: (fetches.append(kw) if "ids" not in kw else None, get(**kw))[1])

    def listed() -> list[str]:
        return [Path(d.path).name for d in reader.sources(name)]

    assert listed() == [f.name for f in files[:2]] and len(fetches) == 1
    assert listed() == [f.name for f in files[:2]] and len(fetches) == 1  # unchanged: token only
    assert not writer.ingest([files[2]], collection=name).failed
    assert listed() == [f.name for f in files[:3]] and len(fetches) == 2
    assert writer.remove(files[0], collection=name)
    assert listed() == [f.name for f in files[1:3]] and len(fetches) == 3
    assert listed() == [f.name for f in files[1:3]] and len(fetches) == 3
    assert name in reader.store.collections()
    for f in files[1:3]:
        assert writer.remove(f, collection=name)
    assert listed() == [] and name not in reader.store.collections()  # the change record is no document


def test_repair_leaves_another_machines_ingest_in_flight_alone(
    store_server: dict[str, str], docs_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "backend-in-flight"
    mine, theirs = machines(store_server, tmp_path, "mine", "theirs")
    assert not mine.ingest([docs_copy / "it_security_policy.md"], collection=name).failed
    # The other machine has upserted a document's vectors and not yet published its record.
    path = str(docs_copy / "employee_handbook.pdf")
    chunks = [Chunk(f"in-flight-{i}", path, i, 1, 0, 4, f"text {i}") for i in range(3)]
    theirs.store._upsert(name, chunks, theirs.embedder.embed([c.text for c in chunks]), {path: "f" * 64})
    assert mine.store.repair(name, mine.embedder.embed).ok
    ids = set(mine.store._vectors(name).get(include=[])["ids"])
    assert {c.id for c in chunks} <= ids  # not deleted as orphans
    # Once they are older than the grace period (that ingest died), they are orphans.
    monkeypatch.setattr(consistency, "ORPHAN_GRACE_SECONDS", -1.0)
    assert sorted(mine.store.repair(name, mine.embedder.embed).orphan_vectors) == sorted(c.id for c in chunks)
    assert not {c.id for c in chunks} & set(mine.store._vectors(name).get(include=[])["ids"])
    assert mine.store.check(name).ok
    # chromadb's own HTTP client would wait forever on a stalled server; ragkit's does not.
    session = mine.store._chroma()._server._session
    assert session.timeout.read == chroma.SERVER_TIMEOUT_SECONDS


def test_chromadb_settings_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMA_OTEL_COLLECTION_ENDPOINT", "http://collector.example:4317")
    monkeypatch.setenv("CHROMA_API_IMPL", "chromadb.api.fastapi.FastAPI")
    settings = chroma._settings()
    assert settings.chroma_otel_collection_endpoint == "" and settings.anonymized_telemetry is False
    assert settings.chroma_api_impl != "chromadb.api.fastapi.FastAPI"


def test_two_concurrent_ingests_into_one_server(store_server: dict[str, str], docs_copy: Path, tmp_path: Path) -> None:
    """Two machines (two data dirs) ingest overlapping halves at once: the server ends with
    exactly the chunks of one clean embedded ingest of the union, none lost or doubled."""
    env, name = store_only(store_server), "backend-concurrent"
    files = sorted(docs_copy.iterdir())
    halves = [files[:3], files[1:]]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "ragkit.cli", "--data-dir", str(tmp_path / f"m{i}"), "ingest", "-q", "-c", name]
            + [str(f) for f in half],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, half in enumerate(halves)
    ]
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    clean = Ragkit(load_settings({"data_dir": tmp_path / "clean"}))
    clean.ingest([docs_copy], collection=name)

    shared = Ragkit(load_settings({"data_dir": tmp_path / "reader", "store_url": env["RAGKIT_STORE_URL"]}))
    [state] = [c for c in shared.check_store() if c.collection == name]
    assert state.ok, state.problems()
    expected = {c.id: c.text for c in _all_chunks(clean, name)}
    stored = shared.store._vectors(name).get(include=["documents"])  # the server's own view
    assert sorted(stored["ids"]) == sorted(expected)  # nothing lost, nothing doubled, nothing extra
    assert dict(zip(stored["ids"], stored["documents"], strict=True)) == expected
    assert {c.id: c.text for c in _all_chunks(shared, name)} == expected


def _all_chunks(kit: Ragkit, collection: str) -> list:
    ids = [cid for doc in kit.sources(collection) for cid in _ids_of(kit, collection, doc.path)]
    return list(kit.store.chunks(collection, ids).values())


def _ids_of(kit: Ragkit, collection: str, path: str) -> list[str]:
    from ragkit.chunk import chunk_id

    doc = kit.store.document(collection, path)
    assert doc is not None
    return [chunk_id(path, doc.sha256, n) for n in range(doc.chunks)]


def test_eval_retrieval_through_the_store_server_matches_embedded(store_server: dict[str, str], tmp_path: Path) -> None:
    args = [
        "eval",
        "retrieval",
        "--corpus",
        str(EVAL_DATA / "corpus.jsonl"),
        "--queries",
        str(EVAL_DATA / "queries.jsonl"),
    ]
    args += ["--qrels", str(EVAL_DATA / "qrels.tsv"), "--json", "-q"]
    embedded = cli_json(*args, "--run-out", str(tmp_path / "embedded.run"))
    served = cli_json(*args, "--run-out", str(tmp_path / "served.run"), env=store_only(store_server))
    for a, b in zip(embedded["pipelines"], served["pipelines"], strict=True):  # type: ignore[index]
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-4)
    assert (tmp_path / "embedded.run").read_text().split("\n")[:5] == (tmp_path / "served.run").read_text().split("\n")[
        :5
    ]
    # The throw-away collection is gone from the shared server.
    import chromadb

    from ragkit.endpoints import parse as endpoint

    url = endpoint("store_url", store_server["RAGKIT_STORE_URL"], ())
    names = [c.name for c in chromadb.HttpClient(host=url.host, port=url.port).list_collections()]
    assert not [n for n in names if n.startswith("eval")], names


# -- the model server ----------------------------------------------------------------------------


@pytest.mark.llm
def test_answers_and_citations_match_the_embedded_mode(servers: dict[str, str], tmp_path: Path) -> None:
    """Same documents, same questions: the store server plus the model server give the answer,
    refusal and citations that the embedded store plus the in-process model give."""
    name = "backend-answers"
    for data_dir, env in ((tmp_path / "embedded", None), (tmp_path / "served", servers)):
        result = ragkit_cli("--data-dir", str(data_dir), "ingest", "-q", str(SAMPLE_DOCS), "-c", name, env=env)
        assert result.returncode == 0, result.stderr
    answers = []
    for question in QUESTIONS:
        local = cli_json("--data-dir", str(tmp_path / "embedded"), "query", question, "-c", name, "--json")
        served = cli_json("--data-dir", str(tmp_path / "served"), "query", question, "-c", name, "--json", env=servers)
        answers.append(served["answer"])  # type: ignore[index]
        assert served["model"].startswith("qwen2.5-coder-0.5b at http://127.0.0.1:")  # type: ignore[index]
        assert (served["answer"], served["declined"]) == (local["answer"], local["declined"])  # type: ignore[index]
        assert [s["chunk_id"] for s in served["sources"]] == [  # type: ignore[index]
            s["chunk_id"]
            for s in local["sources"]  # type: ignore[index]
        ]
        assert served["timings"]["first_token_ms"] or served["declined"]  # type: ignore[index]
    assert "14" in answers[0]  # the password length, read through both servers


@pytest.mark.llm
def test_doctor_shows_and_checks_every_endpoint(servers: dict[str, str], tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace records the self-test's connections in CI; the audit hook alone is tested elsewhere")
    report = ragkit_cli("--data-dir", str(tmp_path), "doctor", "--json", env=servers)
    checks = json.loads(report.stdout)["checks"]
    text = "\n".join(f"{c['status']} {c['what']}" for c in checks)
    assert report.returncode == 0, text
    assert f"ok endpoint vector store (Chroma server): {servers['RAGKIT_STORE_URL']} (this machine): answers" in text
    assert f"ok endpoint model server (OpenAI-compatible): {servers['RAGKIT_LLM_URL']} (this machine): answers" in text
    assert "self-test" in text and "no connection beyond loopback" in text
    # The self-test's collection was dropped from the shared server again.
    kit = Ragkit(load_settings({"data_dir": tmp_path, "store_url": servers["RAGKIT_STORE_URL"]}))
    assert not [n for n in kit.store.names() if n.startswith("doctor-selftest")]

    down = ragkit_cli("--data-dir", str(tmp_path), "--llm-url", "http://127.0.0.1:9", "doctor", "--no-self-test")
    assert down.returncode == 1 and "FAIL  endpoint model server" in down.stdout


def test_manifest_suffix_is_reserved() -> None:
    with pytest.raises(ConfigError, match="suffix"):
        load_settings({"collection": "team" + MANIFEST_SUFFIX}, environ={})


@pytest.mark.llm
def test_eval_qa_through_both_servers_matches_embedded(servers: dict[str, str], tmp_path: Path) -> None:
    args = [
        "eval",
        "qa",
        "--passages",
        str(EVAL_DATA / "passages.jsonl"),
        "--questions",
        str(EVAL_DATA / "questions.jsonl"),
    ]
    args += ["--pipeline", "default", "--json", "-q"]
    embedded = cli_json(*args, "--out", str(tmp_path / "embedded.jsonl"))
    served = cli_json(*args, "--out", str(tmp_path / "served.jsonl"), env=servers)
    local, remote = (
        {k: v for k, v in r["pipelines"][0]["scores"].items() if "ms" not in k} for r in (embedded, served)
    )  # type: ignore[index]
    assert remote == local  # every score but the timings

    def answers(path: Path) -> list[tuple]:
        # Chunk ids hash the passage file's path, which lies in each run's own temporary folder;
        # the passages, their order and which of them the answer cites must be the same.
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        return [(a["id"], a["answer"], a["declined"], [(s["doc_id"], s["cited"]) for s in a["sources"]]) for a in lines]

    assert answers(tmp_path / "served.jsonl") == answers(tmp_path / "embedded.jsonl")
