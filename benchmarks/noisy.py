"""Near-miss questions on sample_docs: the topic is in the documents, the fact is not.

Half of the questions have an answer in ``sample_docs/``; the other half ask about the same
topics with one detail changed (another office, another quarter, another operating system, a
fee the policy does not name), which is how a user's unanswerable question usually looks.
*right*: an answerable question's answer holds the expected span; *declined*: an
unanswerable one got ragkit's refusal. English and Chinese are reported apart. The questions
were written from the documents before ragkit answered any of them, and not changed after.
Run from the repository root (about 5 minutes with the default model):

    .venv/bin/python benchmarks/noisy.py [--model qwen2.5-coder-1.5b]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ragkit import Ragkit, load_settings

ROOT = Path(__file__).resolve().parent.parent

#: (question, spans of which a right answer holds one; empty: no document answers it).
QUESTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("What is the minimum password length for Northwind accounts?", ("14",)),
    ("After how many failed sign-in attempts is an account locked?", ("10",)),
    ("Which password manager must passwords be stored in?", ("Bitwarden",)),
    ("How long is a temporary access code valid after a security key is lost?", ("12 hours",)),
    ("Within how many days must operating system security updates be installed?", ("10 days", "10")),
    ("Until what date must carried-over annual leave be taken?", ("31 March",)),
    ("What budget did the board approve for the new Lisbon office?", ("1.2 million",)),
    ("What was Northwind's Q3 2026 revenue in the Nordics region?", ("1,870", "1870", "1.87")),
    ("What is the minimum password length for the guest Wi-Fi network?", ()),
    ("Which password manager did Northwind use before Bitwarden?", ()),
    ("Which disk encryption software do Linux laptops use?", ()),
    ("What budget did the board approve for the new Madrid office?", ()),
    ("What was Northwind's Q3 2024 revenue in the Nordics region?", ()),
    ("When does the new Berlin office open?", ()),
    ("How many failed attempts lock a hardware security key?", ()),
    ("What was Northwind's Q3 2026 revenue in the Japan region?", ()),
    ("在一线城市出差时，每晚的住宿费上限是多少？", ("600",)),
    ("在其他城市出差时，每晚的住宿费上限是多少？", ("400",)),
    ("出差期间的餐饮补助标准是多少？", ("150",)),
    ("员工应在出差结束后多少天内提交报销申请？", ("30",)),
    ("差旅借款金额不超过预算的多少？", ("80%", "80％", "百分之八十")),
    ("出差时间超过几个工作日须由部门负责人加签？", ("5",)),
    ("在境外出差时，每晚的住宿费上限是多少？", ()),
    ("出差期间的交通补助标准是每天多少元？", ()),
    ("出差期间的洗衣费报销标准是多少？", ()),
    ("乘坐飞机出差时，每年可以报销几次头等舱？", ()),
    ("员工出差前须提前多少天提交《出差申请单》？", ()),
    ("宴请客户的费用每人每餐上限是多少元？", ()),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Answer model (default: the configured one).")
    args = parser.parse_args()
    tally: dict[str, dict[str, list[bool]]] = {}
    with tempfile.TemporaryDirectory(prefix="ragkit-noisy-") as tmp:
        kit = Ragkit(load_settings({"data_dir": Path(tmp)}))
        kit.ingest([ROOT / "sample_docs"])
        print(f"{'ok':3} {'question':62} {'coverage':>8} answer")
        for question, spans in QUESTIONS:
            answer = kit.ask(question, model=args.model)
            said = "" if answer.declined else answer.answer
            ok = any(s.lower() in said.lower() for s in spans) if spans else answer.declined
            language = "zh" if any("\u4e00" <= c <= "\u9fff" for c in question) else "en"
            tally.setdefault(language, {"answerable": [], "unanswerable": []})
            tally[language]["answerable" if spans else "unanswerable"].append(ok)
            coverage = "-" if answer.coverage is None else f"{answer.coverage:.2f}"
            print(f"{'yes' if ok else 'no':3} {question[:62]:62} {coverage:>8} {answer.answer[:80]}")
        for language, kinds in tally.items():
            right, declined = kinds["answerable"], kinds["unanswerable"]
            print(
                f"{language}: answerable answered right {sum(right)}/{len(right)}, "
                f"unanswerable declined {sum(declined)}/{len(declined)} (model {answer.model})"
            )


if __name__ == "__main__":
    main()
