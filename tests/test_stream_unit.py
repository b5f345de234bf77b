"""The answer stream around ``ask``: previews first, text as written, then what the checks changed.

``ask`` is a scripted stand-in here (this tests the stream, not the model); the page's and the
terminal's use of the stream with the real model are tested in test_page and test_query.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from ragkit import Answer, AnswerStream, Preview, Timings
from ragkit.stream import CORRECTED, MARKS, UNCHANGED, WITHHELD


def scripted(pieces: list[str], final: str, declined: bool = False) -> Callable[..., Answer]:
    """An ``ask`` that previews one sentence, streams ``pieces`` and returns ``final``."""

    def ask(on_token: Callable[[str], None], on_preview: Callable[[list[Preview]], None]) -> Answer:
        on_preview([Preview(1, "/docs/policy.md", 1, "Passwords are at least 14 characters long.", 0.8)])
        for piece in pieces:
            on_token(piece)
        return Answer("q", final, declined, [], Timings(), "scripted")

    return ask


@pytest.mark.parametrize(
    ("pieces", "final", "declined", "change", "rest"),
    [
        (["14 ", "characters"], "14 characters [1]", False, MARKS, " [1]"),
        (["14 characters"], "14 characters", False, UNCHANGED, ""),
        (["12 characters"], "14 characters [1]", False, CORRECTED, "14 characters [1]"),
        (["25 days"], "Not in your documents.", True, WITHHELD, "Not in your documents."),
        ([], "Not in your documents.", True, UNCHANGED, "Not in your documents."),
        ([], "14 characters [1]", False, UNCHANGED, "14 characters [1]"),  # nothing streamed (a server)
    ],
)
def test_change_tells_what_the_checks_did(
    pieces: list[str], final: str, declined: bool, change: str, rest: str
) -> None:
    stream = AnswerStream(scripted(pieces, final, declined))
    events = list(stream)
    assert events[0].kind == "preview" and events[0].previews[0].page == 1  # before any text
    assert [e.text for e in events[1:]] == pieces
    assert stream.streamed == "".join(pieces)
    assert stream.answer is not None and stream.answer.answer == final
    assert (stream.change, stream.rest) == (change, rest)


def test_an_error_in_ask_is_raised_where_the_stream_is_read() -> None:
    def failing(**_: Any) -> Answer:
        raise RuntimeError("the model file is gone")

    stream = AnswerStream(failing)
    with pytest.raises(RuntimeError, match="model file is gone"):
        list(stream)
    with pytest.raises(RuntimeError, match="has not ended"):
        stream.change  # noqa: B018 - the property raises


def test_a_stream_nobody_reads_stops_generating() -> None:
    written: list[int] = []

    def ask(on_token: Callable[[str], None], on_preview: Callable[[list[Preview]], None]) -> Answer:
        for i in range(10_000):
            on_token(f"{i} ")
            written.append(i)
            time.sleep(0.001)
        return Answer("q", "never", False, [], Timings(), "scripted")

    stream = AnswerStream(ask)
    events = iter(stream)
    assert next(events).text == "0 "
    events.close()  # what the page's rerun does to the generator it was writing out
    assert stream.finished.wait(timeout=10)
    assert len(written) < 100 and stream.answer is None
