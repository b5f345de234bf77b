"""Two-turn conversations on sample_docs: is the follow-up answered right, and how soon?

Each conversation asks a question, then a follow-up that only makes sense with the first
("And how often must it be changed?"). The follow-up goes through ``Ragkit.ask`` with the
first turn as history, as ``ragkit chat`` and the page send it. *right*: the second answer
holds the expected span (any of them), and does not merely repeat the first answer.

Each conversation runs twice, in turn: as shipped (the follow-up's rewrite on its own lane of
the model's cache, the passages of the first turn first and as they were read, so the model
reads them from its cache: ``ragkit.prefix``) and, as the baseline in the same run, with that
reuse off (the rewrite replaces what the model had read, passages in rank order). Prints the
second turn's time to first token and its prompt tokens read from the cache, for both. Run
from the repository root (about 4 minutes with the 0.5B model, 10 with the default):

    .venv/bin/python benchmarks/followups.py [--model qwen2.5-coder-1.5b]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ragkit import Ragkit, followup, load_settings
from ragkit.llm import LANE_ANSWER
from ragkit.prefix import Reads
from ragkit.records import Timings

ROOT = Path(__file__).resolve().parent.parent

#: (first question, follow-up, spans of which the follow-up's answer must hold one).
CONVERSATIONS = [
    (
        "What is the minimum password length for Northwind accounts?",
        "And how often must it be changed?",
        ("compromise", "not rotated", "no fixed schedule", "not on a fixed schedule", "suspicion"),
    ),
    ("What is the minimum password length for Northwind accounts?", "Is MFA required too?", ("mandatory", "yes")),
    ("Until what date must carried-over annual leave be taken?", "And how many days can be carried over?", ("5",)),
    ("What budget did the board approve for the new Lisbon office?", "When does it open?", ("February 2027",)),
    ("What was Northwind's Q3 2026 revenue in the Nordics region?", "And in Q3 2025?", ("1,610", "1610")),
    ("在一线城市出差时，每晚的住宿费上限是多少？", "其他城市呢？", ("400",)),
    ("出差期间的餐饮补助标准是多少？", "出发当天怎么算？", ("半天",)),
    ("员工应在出差结束后多少天内提交报销申请？", "报销款项多久支付？", ("10个工作日", "10")),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Answer model (default: the configured one).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ragkit-followups-") as tmp:
        kit = Ragkit(load_settings({"data_dir": Path(tmp)}))
        kit.ingest([ROOT / "sample_docs"])
        runs: dict[str, list[Timings]] = {"reuse": [], "no reuse": []}
        right = dict.fromkeys(runs, 0)
        print(f"{'mode':8} {'ok':3} {'follow-up':34} {'ttft s':>6} {'prompt':>6} {'cached':>6}  answer")
        for first, follow, spans in CONVERSATIONS:
            for mode in runs:
                with _reuse(kit, on=mode == "reuse"):
                    before = kit.ask(first, model=args.model)
                    after = kit.ask(follow, model=args.model, history=[(before.question, before.answer)])
                said = "" if after.declined else after.answer
                ok = any(span.lower() in said.lower() for span in spans) and said != before.answer
                right[mode] += ok
                runs[mode].append(after.timings)
                t = after.timings
                ttft = (t.first_token_ms or t.total_ms) / 1000
                print(
                    f"{mode:8} {'yes' if ok else 'no':3} {follow[:34]:34} {ttft:6.1f} {t.prompt_tokens:6} "
                    f"{t.cached_tokens:6}  {after.answer[:50]}"
                )
        print(f"\nsecond turns (model {after.model}, {len(CONVERSATIONS)} conversations):")
        p50 = {}
        for mode, timings in runs.items():
            p50[mode] = statistics.median((t.first_token_ms or t.total_ms) / 1000 for t in timings)
            cached = sum(t.cached_tokens for t in timings) / max(1, sum(t.prompt_tokens for t in timings))
            print(
                f"  {mode:8}: answered right {right[mode]}/{len(CONVERSATIONS)}, time to first token p50 "
                f"{p50[mode]:.1f} s, prompt tokens read from the cache {cached:.0%}"
            )
        print(f"  p50 ratio no reuse / reuse: {p50['no reuse'] / p50['reuse']:.2f}x")


@contextmanager
def _reuse(kit: Ragkit, *, on: bool) -> Iterator[None]:
    """Reuse as shipped, or off: the rewrite on the answers' lane and no memory of what was read."""
    if on:
        yield
        return
    reads, kit._reads = kit._reads, Reads(size=0)
    aside, followup.LANE_ASIDE = followup.LANE_ASIDE, LANE_ANSWER
    try:
        yield
    finally:
        kit._reads, followup.LANE_ASIDE = reads, aside


if __name__ == "__main__":
    main()
