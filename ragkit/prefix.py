"""Passages in the order and words the model last read them: a follow-up pays only for what is new.

Reading the prompt is most of the wait on a CPU, and llama.cpp (in process and in its servers)
re-reads a prompt only from the first token where it differs from the one it read before. A
follow-up question often retrieves the passages of the previous turn again, but ranked
differently and focused on other sentences, so the prompt would differ from its first passage
on. Here the passages that the model read last come first, in the same order and with the same
sentences; the sentences the new question needs that they left out come after the new
passages, in blocks that name the same passage again. The model then reads the system prompt
and the repeated passages from its cache, and only the rest anew.
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


def read_first(hits: Sequence[Hit], last: Sequence[Read]) -> list[Hit]:
    """``hits`` with the ones of ``last`` first, in ``last``'s order; the others keep their rank."""
    order = {read.chunk_id: i for i, read in enumerate(last)}
    return sorted(hits, key=lambda hit: order.get(hit.chunk.id, len(order)))


def as_read(
    hits: Sequence[Hit], focused: Sequence[Sequence[str]], last: Sequence[Read]
) -> tuple[list[list[str]], list[tuple[int, list[str]]]]:
    """The passages' bodies, and the blocks that continue them, for a prompt whose prefix the
    model read last time.

    The leading passages that stand where they stood in ``last`` keep the sentences they had
    there (only they can be read from the cache: the first difference ends the reuse); the
    sentences of ``focused`` they lack come back as ``(passage index, sentences)`` blocks, for
    after the other passages. Every sentence the focus chose is in the prompt either way.
    """
    bodies = [list(parts) for parts in focused]
    more: list[tuple[int, list[str]]] = []
    for i, (hit, read) in enumerate(zip(hits, last, strict=False)):  # those before the first change
        if hit.chunk.id != read.chunk_id:
            break
        bodies[i] = list(read.parts)
        if missing := _missing(focused[i], read.parts):
            more.append((i, missing))
    return bodies, more


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
        self._reads: OrderedDict[tuple[str, str], tuple[str, list[Read]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, model: str, question: str, answer: str, read: list[Read]) -> None:
        """Keep what ``model`` read to give ``answer`` to ``question`` (the oldest of more than
        ``size`` turns is forgotten: the cache has long moved on from it)."""
        with self._lock:
            self._reads[(model, question)] = (answer, read)
            self._reads.move_to_end((model, question))
            while len(self._reads) > self._size:
                self._reads.popitem(last=False)

    def of(self, model: str, history: Sequence[tuple[str, str]]) -> list[Read]:
        """What the model read for the last turn of ``history`` (nothing without one). The
        turn's answer as a client sends it back may carry more after ragkit's text (an API
        stream's closing note), so it need only start with it."""
        if not history:
            return []
        question, answer = history[-1]
        with self._lock:
            said, read = self._reads.get((model, question), ("", []))
        return read if said and answer.startswith(said) else []
