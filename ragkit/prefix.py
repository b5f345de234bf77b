"""Passages in the order and words the model last read them: a follow-up pays only for what is new.

Reading the prompt is most of the wait on a CPU, and llama.cpp (in process and in its servers)
re-reads a prompt only from the first token where it differs from the one it read before. A
follow-up question often retrieves the passages of the previous turn again, but ranked
differently and focused on other sentences, so the prompt would differ from its start on. Here
a follow-up's prompt opens as the previous one did (the question it opened with, then the
passages that the model read, in the same order and with the same sentences); the new
passages, the sentences the new question needs that the repeated ones left out (in blocks that
name the same passage again) and the follow-up question come after. The model then reads the
repeated start from its cache, and only the rest anew.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from .focus import GAP
from .records import Hit


@dataclass(frozen=True)
class Read:
    """A passage as a prompt gave it to the model: which chunk, and the sentences it kept."""

    chunk_id: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Turn:
    """What one prompt gave the model to read: the question it opened with, then its passages."""

    lead: str
    read: tuple[Read, ...]


def read_first(hits: Sequence[Hit], last: Turn | None) -> list[Hit]:
    """``hits`` with the passages ``last`` opened with first, in its order, as far as they were
    all retrieved again; the others keep their rank. Only a run from ``last``'s first passage on
    can be read from the cache, so a passage of ``last`` that was not at its start stays where
    its rank puts it."""
    found = {hit.chunk.id: hit for hit in hits}
    first: list[Hit] = []
    for read in last.read if last else ():
        if read.chunk_id not in found:
            break
        first.append(found.pop(read.chunk_id))
    return first + [hit for hit in hits if hit.chunk.id in found]


def as_read(
    hits: Sequence[Hit], focused: Sequence[Sequence[str]], last: Turn | None
) -> tuple[list[list[str]], list[tuple[int, list[str]]], str | None]:
    """The passages' bodies, the blocks that continue them and the question to open with, for
    a prompt that repeats the start of ``last``.

    The leading passages that stand where they stood in ``last`` keep the sentences they had
    there (only they can be read from the cache: the first difference ends the reuse); the
    sentences of ``focused`` they lack come back as ``(passage index, sentences)`` blocks, for
    after the other passages. Every sentence the focus chose is in the prompt either way. The
    opening question is ``last``'s when a passage is kept, else None (the prompt's own).
    """
    bodies = [list(parts) for parts in focused]
    more: list[tuple[int, list[str]]] = []
    kept = 0
    for i, (hit, read) in enumerate(zip(hits, last.read if last else (), strict=False)):  # up to the first change
        if hit.chunk.id != read.chunk_id:
            break
        bodies[i], kept = list(read.parts), i + 1
        if missing := _missing(focused[i], read.parts):
            more.append((i, missing))
    return bodies, more, last.lead if last and kept else None


def _missing(parts: Sequence[str], had: Sequence[str]) -> list[str]:
    """The sentences of ``parts`` that ``had`` lacks, in order, a gap mark where others stood."""
    out: list[str] = []
    for part in parts:
        if part != GAP and part not in had:
            out.append(part)
        elif out and out[-1] != GAP:
            out.append(GAP)
    return out[:-1] if out and out[-1] == GAP else out


class Reads:
    """What the latest answers gave the model to read, by model and question: the turn that a
    follow-up continues, whichever conversation (page session, API client) it is in."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._turns: OrderedDict[tuple[str, str], tuple[str, Turn]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, model: str, question: str, answer: str, turn: Turn | None) -> None:
        """Keep what ``model`` read to give ``answer`` to ``question`` (the oldest of more than
        ``size`` turns is forgotten: the cache has long moved on from it)."""
        if turn is None:  # the model read nothing
            return
        with self._lock:
            self._turns[(model, question)] = (answer, turn)
            self._turns.move_to_end((model, question))
            while len(self._turns) > self._size:
                self._turns.popitem(last=False)

    def of(self, model: str, history: Sequence[tuple[str, str]]) -> Turn | None:
        """What the model read for the last turn of ``history`` (None without one). The turn's
        answer as a client sends it back may carry more after ragkit's text (an API stream's
        closing note), so it need only start with it."""
        if not history:
            return None
        question, answer = history[-1]
        with self._lock:
            said, turn = self._turns.get((model, question), ("", None))
        return turn if said and answer.startswith(said) else None
