"""A follow-up's prompt starts with what the model read for the turn before (ragkit.prefix).

Pure prompt building: the real model's reuse of that start is checked in
test_evidence_model.py (``cached_tokens``) and measured by benchmarks/followups.py.
"""

from __future__ import annotations

from ragkit.focus import GAP, sentences
from ragkit.prefix import Read, Reads, as_read, read_first
from ragkit.prompt import Prompt, build_prompt
from ragkit.records import Chunk, Hit


def hit(chunk_id: str, text: str) -> Hit:
    return Hit(Chunk(chunk_id, f"/docs/{chunk_id}.md", 0, 1, 0, len(text), text), score=0.6)


LEAVE = hit(
    "leave",
    "Employees receive 25 days of annual leave. Up to 5 unused days may be carried over. "
    "Carried-over days must be taken by 31 March. Leave is booked in the HR portal.",
)
PASSWORD = hit("password", "Passwords have at least 14 characters. They are changed after a compromise.")
TRAVEL = hit("travel", "Hotel costs are capped at 180 euros a night in capital cities.")


def focused(hit: Hit, *keep: int) -> list[str]:
    """The passage's sentences ``keep`` (by index), gaps marked, as the focus would cut it."""
    parts = sentences(hit.chunk.text)
    out: list[str] = []
    for i, part in enumerate(parts):
        if i in keep:
            out.append(part)
        elif not out or out[-1] != GAP:
            out.append(GAP)
    return out


def user_turn(question: str, hits: list[Hit], bodies: list[list[str]], last: list[Read]) -> tuple[str, Prompt]:
    prompt = build_prompt(question, hits, *as_read(hits, bodies, last))
    return prompt.messages[1]["content"], prompt


def test_the_passages_read_last_come_first_in_their_order() -> None:
    last = [Read("password", ()), Read("leave", ())]
    ordered = read_first([TRAVEL, LEAVE, PASSWORD], last)
    assert [h.chunk.id for h in ordered] == ["password", "leave", "travel"]
    assert read_first([TRAVEL, LEAVE], []) == [TRAVEL, LEAVE]  # no turn before: rank order


def test_a_follow_up_prompt_starts_with_the_previous_one_and_keeps_every_chosen_sentence() -> None:
    first_q, follow_q = "Until when must carried-over days be taken?", "How many days can be carried over?"
    first, built = user_turn(first_q, [LEAVE, PASSWORD], [focused(LEAVE, 2), focused(PASSWORD, 0)], [])
    assert first.endswith(f"Question: {first_q}") and first.count("Question:") == 1  # the question last, once

    # The follow-up retrieves the same two passages (ranked the other way) and a new one, and its
    # focus keeps another sentence of the leave passage.
    hits = read_first([PASSWORD, LEAVE, TRAVEL], built.read)
    follow, prompt = user_turn(
        follow_q, hits, [focused(LEAVE, 1), focused(PASSWORD, 0), focused(TRAVEL, 0)], built.read
    )
    shared = first[: first.index("\n\nQuestion:")]
    assert follow.startswith(shared)  # everything but the question is read from the cache
    rest = follow[len(shared) :]
    assert 'id="3" file="travel.md"' in rest and 'id="1" file="leave.md" page="1" continued="yes"' in rest
    assert rest.index("travel.md") < rest.index('continued="yes"') < rest.index(f"Question: {follow_q}")
    # Every sentence the focus chose is numbered, and belongs to the passage it came from.
    by_text = {s.text: s for s in prompt.sentences}
    assert by_text["Up to 5 unused days may be carried over."].passage == 0
    assert by_text["Carried-over days must be taken by 31 March."].passage == 0
    assert by_text["Hotel costs are capped at 180 euros a night in capital cities."].passage == 2
    assert [s.id for s in prompt.sentences] == list(range(1, len(prompt.sentences) + 1))
    assert f"({by_text['Up to 5 unused days may be carried over.'].id}) Up to 5" in rest
    # What the next turn repeats is the passages as this prompt gave them, not the continuation.
    assert [(r.chunk_id, r.parts) for r in prompt.read[:2]] == [(r.chunk_id, r.parts) for r in built.read]


def test_a_passage_that_moved_is_focused_afresh() -> None:
    _, built = user_turn("q?", [LEAVE, PASSWORD], [focused(LEAVE, 2), focused(PASSWORD, 0)], [])
    # PASSWORD first now (LEAVE was not retrieved): nothing before it matches, so nothing is kept.
    bodies, more = as_read([PASSWORD, TRAVEL], [focused(PASSWORD, 1), focused(TRAVEL, 0)], built.read)
    assert bodies == [focused(PASSWORD, 1), focused(TRAVEL, 0)] and more == []


def test_reads_are_found_by_the_turn_they_answered() -> None:
    reads = Reads(size=2)
    reads.remember("m", "q1", "a1", [Read("leave", ("x",))])
    assert reads.of("m", [("q0", "a0"), ("q1", "a1")]) == [Read("leave", ("x",))]
    assert reads.of("m", [("q1", "a1\n(as checked) …")]) == [Read("leave", ("x",))]  # as a stream ended
    assert reads.of("m", []) == [] and reads.of("other model", [("q1", "a1")]) == []
    assert reads.of("m", [("q1", "another answer")]) == []
    reads.remember("m", "q2", "a2", [])
    reads.remember("m", "q3", "a3", [])
    assert reads.of("m", [("q1", "a1")]) == []  # the oldest is dropped beyond ``size``
