#!/usr/bin/env bash
# Retrieval and QA quality of both pipelines (ragkit default and the naive baseline) on the
# shared public data, through the same `ragkit eval` commands a user runs. Prints the metric
# tables (kept in benchmarks/results/*.txt next to the run files and answers). Run from the repository
# root:  bash benchmarks/quality.sh [retrieval|qa|all]   (about 10 minutes for retrieval, and
# 1-2 hours for QA with the default 1.5B model on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
EVAL=../shared/eval
OUT=benchmarks/results
WORK=${RAGKIT_BENCH_WORK:-benchmarks/data/work}  # ingested collections, kept so reruns skip ingest
mkdir -p "$OUT"
.venv/bin/python benchmarks/prepare_cmrc.py
what=${1:-all}

if [[ $what == retrieval || $what == all ]]; then
    .venv/bin/ragkit eval retrieval --corpus $EVAL/scifact/corpus.jsonl --queries $EVAL/scifact/queries_test.jsonl \
        --qrels $EVAL/scifact/qrels/test.tsv --run-out $OUT/scifact.run --work-dir "$WORK/scifact" | tee $OUT/scifact_retrieval.txt
    .venv/bin/ragkit eval retrieval --corpus benchmarks/data/cmrc/corpus.jsonl --queries benchmarks/data/cmrc/queries.jsonl \
        --qrels benchmarks/data/cmrc/qrels.tsv --run-out $OUT/cmrc.run --work-dir "$WORK/cmrc_retrieval" | tee $OUT/cmrc_retrieval.txt
fi
if [[ $what == qa || $what == all ]]; then
    # Every answer is kept with its confidence (threshold 0): refusal_curve.py then reads off each
    # threshold, the shipped default included, and the share of each check, from the same run.
    export RAGKIT_MIN_CONFIDENCE=0 RAGKIT_MIN_COVERAGE=0
    .venv/bin/ragkit eval qa --passages $EVAL/squad2_open/open_passages.jsonl \
        --questions $EVAL/squad2_open/open_questions.jsonl --limit 200 --seed 0 --out $OUT/squad2_answers.jsonl \
        --work-dir "$WORK/squad2" | tee $OUT/squad2_qa.txt
    .venv/bin/ragkit eval qa --passages benchmarks/data/cmrc/passages.jsonl --questions benchmarks/data/cmrc/questions.jsonl \
        --limit 100 --seed 0 --out $OUT/cmrc_answers.jsonl --work-dir "$WORK/cmrc_qa" | tee $OUT/cmrc_qa.txt
    # The same article without the gold paragraph: every answer should be a refusal.
    .venv/bin/ragkit eval qa --passages $EVAL/squad2_open/open_passages.jsonl \
        --questions $EVAL/squad2_open/open_questions.jsonl --limit 100 --seed 0 --drop-gold --pipeline default \
        --out $OUT/squad2_distractor_answers.jsonl --work-dir "$WORK/squad2_distractor" | tee $OUT/squad2_distractor_qa.txt
    .venv/bin/python benchmarks/refusal_curve.py $OUT/squad2_answers.jsonl $OUT/cmrc_answers.jsonl \
        --report $OUT/squad2_distractor_answers.jsonl | tee $OUT/refusal_curve.txt
    unset RAGKIT_MIN_CONFIDENCE RAGKIT_MIN_COVERAGE
    .venv/bin/python benchmarks/followups.py | tee $OUT/followups.txt
    .venv/bin/python benchmarks/noisy.py | tee $OUT/noisy.txt
fi
