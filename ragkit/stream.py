"""One answer, as the shells show it: the best sentences at once, the text as the model writes
it, then the checked answer and whether it differs from what was shown.

Retrieval takes milliseconds and the model's first word seconds, so the sentences that match
the question best come first (:class:`Preview`): a reader often has the answer before the
model does. The text pieces follow as they are generated. What the checks make of them comes
last, as :attr:`AnswerStream.change`, so that the terminal and the page tell the user the same
thing the same way: nothing changed, the checked ``[n]`` marks were added, the text was
corrected, or the streamed reply was withheld.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .records import Answer

#: How a checked answer relates to the text streamed before it.
UNCHANGED, MARKS, CORRECTED, WITHHELD = "unchanged", "marks", "corrected", "withheld"


@dataclass(frozen=True)
class Preview:
    """A sentence of a retrieved passage that matches the question, shown while the model reads."""

    n: int
    file: str
    page: int
    sentence: str
    score: float


@dataclass(frozen=True)
class Event:
    """One step of an answer stream: ``kind`` is ``"preview"`` (``previews`` set) or ``"text"``."""

    kind: str
    text: str = ""
    previews: tuple[Preview, ...] = ()


_DONE = object()


class Cancelled(Exception):
    """Raised inside ``ask`` when nobody reads its stream any more (the page moved on)."""


class AnswerStream:
    """Iterate for :class:`Event` objects; afterwards :attr:`answer` and :attr:`change` are set.

    ``ask`` is called in a worker thread with callbacks for the previews and the text pieces;
    an error it raises is raised again here, in the iterating thread, once the events end. A
    stream left unfinished (the page rerun by a new question, :meth:`close`) stops its
    generation at the next piece, so the model is free for the next question instead of writing
    an answer nobody reads.
    """

    def __init__(self, ask: Callable[..., Answer]) -> None:
        self._ask = ask
        self.answer: Answer | None = None
        #: The text pieces shown so far, joined, as the model wrote them.
        self.streamed = ""
        self._error: BaseException | None = None
        self._abandoned = threading.Event()
        #: Set once ``ask`` has returned or raised (after a :meth:`close`, soon after it).
        self.finished = threading.Event()

    def close(self) -> None:
        """Stop the generation at its next piece; the stream then ends without an answer."""
        self._abandoned.set()

    def __iter__(self) -> Iterator[Event]:
        events: queue.Queue[Any] = queue.Queue()

        def token(piece: str) -> None:
            if self._abandoned.is_set():
                raise Cancelled("the answer stream was closed")
            events.put(Event("text", text=piece))

        def work() -> None:
            try:
                self.answer = self._ask(
                    on_token=token, on_preview=lambda found: events.put(Event("preview", previews=tuple(found)))
                )
            except BaseException as exc:  # noqa: BLE001 - handed to the iterating thread
                self._error = exc
            finally:
                self.finished.set()
                events.put(_DONE)

        threading.Thread(target=work, daemon=True, name="ragkit-answer").start()
        try:
            while (event := events.get()) is not _DONE:
                if event.kind == "text":
                    self.streamed += event.text
                yield event
        finally:  # also when the reader stops early: closing the generator closes the stream
            if not self.finished.is_set():
                self.close()
        if self._error is not None:
            raise self._error

    @property
    def change(self) -> str:
        """How the checked answer differs from the streamed text (see the module docstring)."""
        if self.answer is None:
            raise RuntimeError("the stream has not ended")
        said = self.streamed.strip()
        if self.answer.declined:
            return WITHHELD if said else UNCHANGED
        if not said or self.answer.answer.strip() == said:  # nothing streamed: nothing to correct
            return UNCHANGED
        return MARKS if said and self.answer.answer.startswith(said) else CORRECTED

    @property
    def rest(self) -> str:
        """What to print after the streamed text: the added marks, or the whole checked answer
        (or refusal) when it is not what was streamed."""
        if self.answer is None:
            raise RuntimeError("the stream has not ended")
        if self.change == MARKS:
            return self.answer.answer[len(self.streamed.strip()) :]
        if self.change == UNCHANGED and self.streamed.strip() and not self.answer.declined:
            return ""
        return self.answer.answer

    @property
    def closing(self) -> str:
        """What a shell prints after the streamed text, so that the reader ends with the checked
        answer: why a withheld reply was withheld, the checked text after a corrected one, or the
        added ``[n]`` marks (the CLI and the API say the same words)."""
        if self.answer is None:
            raise RuntimeError("the stream has not ended")
        if self.change == WITHHELD:
            return f"\n{self.answer.withheld}\n{self.rest}"
        if self.change == CORRECTED and self.streamed.strip():
            return f"\n(as checked) {self.rest}"
        return self.rest
