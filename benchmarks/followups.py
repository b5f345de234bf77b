"""Two-turn conversations on sample_docs: is the second turn (a follow-up) answered right?

Each conversation asks a question, then a follow-up that only makes sense with the first
("And how often must it be changed?"). The follow-up goes through ``Ragkit.ask`` with the
first turn as history, as ``ragkit chat`` and the page send it. *right*: the second answer
holds the expected span (any of them), and does not merely repeat the first answer. Run from
the repository root (about 2 minutes with the 0.5B model, 5 with the default):

    .venv/bin/python benchmarks/followups.py [--model qwen2.5-coder-1.5b]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ragkit import Ragkit, load_settings

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
        right = 0
        print(f"{'ok':3} {'follow-up':42} {'searched for':60} answer")
        for first, follow, spans in CONVERSATIONS:
            before = kit.ask(first, model=args.model)
            after = kit.ask(follow, model=args.model, history=[(before.question, before.answer)])
            said = "" if after.declined else after.answer
            ok = any(span.lower() in said.lower() for span in spans) and said != before.answer
            right += ok
            print(f"{'yes' if ok else 'no':3} {follow[:42]:42} {after.standalone_question[:60]:60} {after.answer[:70]}")
        print(f"second turns answered right: {right}/{len(CONVERSATIONS)} (model {after.model})")


if __name__ == "__main__":
    main()
