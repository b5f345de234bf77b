"""``ragkit eval retrieval`` and ``ragkit eval qa`` end to end on tiny real datasets.

The real command (in process, through click): real ingest into a throw-away store, the real retriever,
the real 0.5B model. The printed metrics are recomputed here from the files the command wrote,
so the report cannot drift from what was measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkit import metrics
from ragkit.datasets import read_qrels

from .conftest import ragkit_cli

DATA = Path(__file__).resolve().parent / "data" / "eval"


def _run_file(path: Path) -> dict[str, list[tuple[str, int, float]]]:
    runs: dict[str, list[tuple[str, int, float]]] = {}
    for line in path.read_text().splitlines():
        qid, q0, doc, rank, score, tag = line.split()
        assert q0 == "Q0" and tag.startswith("ragkit-")
        runs.setdefault(qid, []).append((doc, int(rank), float(score)))
    return runs


def test_eval_retrieval_writes_run_files_and_scores_both_pipelines(tmp_path: Path) -> None:
    run = tmp_path / "run.tsv"
    result = ragkit_cli(
        "eval", "retrieval", "--corpus", str(DATA / "corpus.jsonl"), "--queries", str(DATA / "queries.jsonl"),
        "--qrels", str(DATA / "qrels.tsv"), "--run-out", str(run), "--json", "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["documents"] == 20 and report["chunks"] >= 20
    assert [p["pipeline"] for p in report["pipelines"]] == ["default", "naive"]
    qrels = read_qrels(DATA / "qrels.tsv")
    corpus_ids = {json.loads(line)["_id"] for line in (DATA / "corpus.jsonl").read_text().splitlines()}
    for block, path in zip(report["pipelines"], (run, tmp_path / "run.naive.tsv"), strict=True):
        assert block["run_file"] == str(path)
        runs = _run_file(path)
        assert set(runs) == set(qrels)
        for ranked in runs.values():
            assert [r for _, r, _ in ranked] == list(range(1, len(ranked) + 1))
            assert [s for _, _, s in ranked] == sorted((s for _, _, s in ranked), reverse=True)
            assert len({d for d, _, _ in ranked}) == len(ranked) == 20  # every document, once each
            assert {d for d, _, _ in ranked} == corpus_ids
        recomputed = metrics.retrieval_scores({q: [d for d, _, _ in r] for q, r in runs.items()}, qrels)
        for name in ("ndcg@10", "recall@100", "mrr@10"):
            assert block["scores"][name] == pytest.approx(recomputed[name], abs=1e-4)
    # The claims were written for their abstracts: both pipelines find them among 20.
    assert report["pipelines"][0]["scores"]["ndcg@10"] >= 0.7
    assert report["pipelines"][0]["scores"]["recall@100"] == 1.0


def test_eval_retrieval_without_qrels_and_bad_input(tmp_path: Path) -> None:
    run = tmp_path / "run.tsv"
    result = ragkit_cli(
        "eval", "retrieval", "--corpus", str(DATA / "corpus.jsonl"), "--queries", str(DATA / "queries.jsonl"),
        "--run-out", str(run), "--pipeline", "naive", "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "naive" in result.stdout and "nDCG@10" in result.stdout
    assert len(_run_file(run)) == 4 and not (tmp_path / "run.naive.tsv").exists()

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"_id": "1", "text": "fine"}\n{not json\n')
    result = ragkit_cli(
        "eval", "retrieval", "--corpus", str(broken), "--queries", str(DATA / "queries.jsonl"), "--run-out", str(run)
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"Error: {broken}:2: not JSON")


@pytest.mark.llm
def test_eval_qa_answers_and_scores_both_pipelines(tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    result = ragkit_cli(
        "eval", "qa", "--passages", str(DATA / "passages.jsonl"), "--questions", str(DATA / "questions.jsonl"),
        "--out", str(out), "--json", "-q", env={"RAGKIT_MODEL": "qwen2.5-coder-1.5b"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["passages"] == 3 and report["model"] == "qwen2.5-coder-1.5b"  # answers as users get them
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").read_text().splitlines()]
    impossible = {q["id"] for q in questions if q["is_impossible"]}
    for block, path in zip(report["pipelines"], (out, tmp_path / "answers.naive.jsonl"), strict=True):
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert [line["id"] for line in lines] == [q["id"] for q in questions]
        for line in lines:
            assert set(line) >= {"id", "answer", "declined", "sources", "timings", "evidence", "unsupported", "gold"}
            assert line["answer"].strip()
            for source in line["sources"]:
                assert source["doc_id"].startswith("Normans#") and source["chunk_id"]
        scores = block["scores"]
        assert (scores["questions"], scores["answerable"], scores["unanswerable"]) == (4, 2, 2)
        declined = {line["id"] for line in lines if line["declined"]}
        expected_recall = len(declined & impossible) / len(impossible)
        assert scores["refusal_recall"] == pytest.approx(expected_recall, abs=1e-4)
        assert scores["answered_rate"] == pytest.approx(1 - len(declined - impossible) / 2, abs=1e-4)
        assert scores["ttft_mean_ms"] is None or scores["ttft_mean_ms"] > 0
    # "In what country is Normandy located?" is answered by ragkit's pipeline, citing its passage.
    first = json.loads(out.read_text().splitlines()[0])
    assert not first["declined"] and "France" in first["answer"]
    assert any(s["cited"] and s["doc_id"] == "Normans#0" for s in first["sources"])
    assert first["evidence"] and "France" in first["evidence"][0]["sentence"]  # the quoted sentence
    assert report["pipelines"][0]["scores"]["citation_precision"] is not None


def test_eval_qa_drop_gold_leaves_out_the_answers_passages(tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    result = ragkit_cli(
        "eval", "qa", "--passages", str(DATA / "passages.jsonl"), "--questions", str(DATA / "questions.jsonl"),
        "--out", str(out), "--json", "-q", "--drop-gold", "--pipeline", "default",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").read_text().splitlines()]
    answerable = [q for q in questions if not q["is_impossible"]]
    golds = {q["passage_id"] for q in answerable}
    assert report["passages"] == 3 - len(golds)  # the other passages of the article stay
    scores = report["pipelines"][0]["scores"]
    assert (scores["questions"], scores["unanswerable"]) == (len(answerable), len(answerable))
    for line in map(json.loads, out.read_text().splitlines()):
        assert line["impossible"] and not any(s["doc_id"] in golds for s in line["sources"])
