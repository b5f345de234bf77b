"""The public API: one object per data dir that ingests, answers and lists.

The CLI and the Streamlit page are thin shells over :class:`Ragkit`. Heavy parts (embedder,
store, LLM) load lazily and once per object, so ``ragkit sources`` never loads a model and the
page keeps one instance for all sessions.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import answer, followup, highlight, models, retrieve
from .chunk import Chunker, HFTokenizer
from .config import Settings, collection_name, load_settings
from .discover import Limits, upload_name
from .embed import Embedder
from .endpoints import where_data_goes
from .focus import focus
from .followup import History
from .ingest import FileProgress, Ingestor
from .llm import ChatModel, local_llm
from .llm_server import RemoteLLM
from .page_view import page_view
from .parse import PARSERS
from .parse.worker import ParseWorker
from .passwords import Passwords
from .prefix import Reads, Turn, as_read, read_first
from .prompt import Prompt, build_plain_messages, build_prompt, language_of, quote
from .records import Answer, DocumentInfo, Hit, IngestReport, PageView, Timings
from .retrieve import DocumentHit, Retriever
from .store import Consistency, Store
from .store.writer import Writer
from .stream import AnswerStream, Preview

if TYPE_CHECKING:  # the doctor imports this module
    from .doctor import Check, Diagnosis

log = logging.getLogger(__name__)
#: Sentences shown while the model reads: one from each of the best passages.
PREVIEWS = 3
#: The file name endings ingest reads (without the dot), for upload forms.
FILE_TYPES: tuple[str, ...] = tuple(suffix.lstrip(".") for suffix in PARSERS)


class Ragkit:
    """Documents in, cited answers out, for one data dir."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self._llms: dict[str, ChatModel] = {}
        self._llm_lock = threading.Lock()
        self._reads = Reads()

    def close(self) -> None:
        """Close the store's files (the models stay loaded for the next Ragkit in this process)."""
        if "store" in self.__dict__:  # opened on first use: nothing to close before
            self.store.close()
            del self.__dict__["store"]
            for holder in ("retriever", "_writer"):  # they hold the store
                self.__dict__.pop(holder, None)

    def __enter__(self) -> Ragkit:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- parts, loaded on first use ---------------------------------------------------------

    @cached_property
    def store(self) -> Store:
        """The data dir's store, or its mirror of a Chroma server (opened, not loaded: cheap)."""
        return Store(self.settings.data_dir, self.settings.endpoints().get("store_url"))

    @cached_property
    def embedder(self) -> Embedder:
        """The packaged embedder, verified and loaded once."""
        return Embedder(batch_size=self.settings.embed_batch)

    @cached_property
    def tokenizer(self) -> HFTokenizer:
        """The embedder's tokenizer: chunk sizes and the passages' prompt budget are counted in
        its tokens, so the prompt is the same whichever model server answers."""
        return HFTokenizer(self.embedder.tokenizer_file)

    @cached_property
    def retriever(self) -> Retriever:
        """Hybrid retrieval over this store."""
        return Retriever(self.store, self.embedder)

    def llm(self, model: str | None = None) -> ChatModel:
        """The answer model, once per process: a packaged name or GGUF path, verified and loaded
        here, or the model of that name on the model server when ``llm_url`` is set."""
        wanted = model or self.settings.model
        with self._llm_lock:
            if wanted not in self._llms:
                self._llms[wanted] = self._open_llm(wanted)
            return self._llms[wanted]

    def _collection(self, name: str | None) -> str:
        """The collection a call means: ``name`` (checked) or the configured one."""
        return collection_name(name) if name else self.settings.collection

    def _open_llm(self, wanted: str) -> ChatModel:
        settings = self.settings
        if endpoint := settings.endpoints().get("llm_url"):
            return RemoteLLM(endpoint, wanted, api_key=settings.llm_api_key)
        path, label = models.resolve_llm(wanted, settings.models_dir)
        return local_llm(
            path,
            label,
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            n_gpu_layers=settings.n_gpu_layers,
            flash_attn=settings.flash_attn,
        )

    @cached_property
    def _writer(self) -> Writer:
        """The data dir's write lock and the repair after an interrupted writer."""
        return Writer(self.settings.data_dir, self.store, lambda: self.embedder.embed)

    def writer(self) -> tuple[bool, str]:
        """(whether a process holds the write lock now, the pid left in the lock file); see
        :meth:`~ragkit.store.writer.Writer.holder`."""
        return self._writer.holder()

    def check_store(self, *, repair: bool = False) -> list[Consistency]:
        """Compare manifest, lexical index and vectors of every collection; ``repair`` fixes them
        (waiting for a running ingest)."""
        return self._writer.check(repair=repair)

    # -- documents --------------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        collection: str | None = None,
        prune: bool = False,
        progress: FileProgress | None = None,
        on_wait: Callable[[], None] | None = None,
        passwords: Passwords | None = None,
    ) -> IngestReport:
        """Parse, chunk, embed and store files and folders; see :class:`~ragkit.ingest.Ingestor`.

        ``passwords`` open encrypted PDFs (they are used for parsing only, never stored).
        """
        chunker = Chunker(
            self.tokenizer,
            size=min(self.settings.chunk_tokens, self.embedder.max_tokens),
            overlap=self.settings.chunk_overlap,
        )
        limits = Limits(
            follow_symlinks=self.settings.follow_symlinks, max_file_bytes=self.settings.max_file_mb * 1024 * 1024
        )
        worker = ParseWorker(
            self.settings.parse_timeout, self.settings.parse_memory_mb, pdf_tables=self.settings.pdf_tables
        )
        ingestor = Ingestor(
            self.store,
            self.embedder,
            chunker,
            self._collection(collection),
            limits,
            worker=worker,
            passwords=passwords,
        )
        with self._writer.writing(on_wait), worker:
            report = ingestor.run([Path(p) for p in paths], prune=prune, progress=progress)
        for pruned in (f.path for f in report.files if f.status == "removed"):
            highlight.forget(self._page_cache, Path(pruned))  # its rendered pages go with it
        return report

    def add_uploads(
        self,
        uploads: Iterable[tuple[str, bytes]],
        *,
        collection: str | None = None,
        progress: FileProgress | None = None,
    ) -> IngestReport:
        """Store uploaded files (name, content) under the data dir, then ingest them.

        Each file is kept at ``uploads/<content hash>/<base name>``: the client's path is never
        used, the same content uploaded twice is the same document, and the citation still
        shows the name the user knows.
        """
        paths = []
        for name, data in uploads:
            base = upload_name(name)
            folder = self.settings.data_dir / "uploads" / hashlib.sha256(data).hexdigest()[:16]
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / base
            if not target.exists():
                target.write_bytes(data)
            paths.append(target)
        return self.ingest(paths, collection=collection, progress=progress)

    def sources(self, collection: str | None = None) -> list[DocumentInfo]:
        """Documents stored in a collection."""
        return self.store.documents(self._collection(collection))

    def document_text(self, path: str | Path, collection: str | None = None) -> str:
        """A stored document's text, its chunks joined in reading order (overlaps repeated); "" when not stored."""
        return self.store.document_text(self._collection(collection), str(Path(path).expanduser().resolve()))

    def collections(self) -> list[str]:
        """The configured collection and every one that holds documents, sorted."""
        return sorted({self.settings.collection, *self.store.collections()})

    def require_documents(self, collection: str | None = None) -> None:
        """Raise EmptyCollectionError (naming the other collections) when there is nothing to ask."""
        self.store.require_documents(self._collection(collection))

    def where_data_goes(self) -> str:
        """One line for the shells: whether documents and questions stay on this machine."""
        return where_data_goes(self.settings.endpoints())

    def remove(self, path: str | Path, collection: str | None = None) -> bool:
        """Delete one document (by the path it was ingested from); False if it was not stored."""
        key = str(Path(path).expanduser().resolve())
        with self._writer.writing():
            removed = self.store.remove_document(self._collection(collection), key)
        highlight.forget(self._page_cache, Path(key))
        return removed

    def watch(self, paths: Iterable[str | Path], **options: Any) -> None:
        """Keep the collection in sync with ``paths`` until SIGINT/SIGTERM; see :class:`~ragkit.watch.Watcher`."""
        from .watch import Watcher  # watchdog is imported only by the watch command

        Watcher(self, paths, **options).run()

    @property
    def _page_cache(self) -> Path:
        """Where rendered pages are kept: under the data dir, like everything ragkit makes."""
        return self.settings.data_dir / "pages"

    def show(self, file: str | Path, page: int, sentence: str, *, collection: str | None = None) -> PageView:
        """A cited sentence where it stands: the page's stored text around it and, for a PDF,
        the page rendered with the sentence highlighted (cached under the data dir).

        ``file`` is a document's path as ingested (``Source.file``, ``Evidence.file``); an empty
        ``sentence`` shows the page as it is (a neighbouring page, say).
        """
        return page_view(self.store, self._collection(collection), file, page, sentence, self._page_cache)

    def models(self) -> list[models.ModelInfo]:
        """Installed models with path, size, sha256 and license."""
        return models.list_models(self.settings.models_dir)

    def answer_models(self) -> list[str]:
        """Names of the chat models that can answer here: the configured one first (a packaged
        or a registered GGUF), then the other installed packaged ones."""
        installed = [m.name for m in self.models() if m.kind == "llm" and m.installed and m.name in models.REGISTRY]
        return [self.settings.model, *(name for name in installed if name != self.settings.model)]

    def model_path(self, name: str | None = None) -> Path:
        """The verified GGUF file of a model (default: the configured one), assembling a packaged
        model first: the file a model server such as ``llama_cpp.server`` loads."""
        return models.resolve_llm(name or self.settings.model, self.settings.models_dir)[0]

    def diagnose(
        self,
        *,
        config_file: Path | None = None,
        repair: bool = False,
        self_test: bool = True,
        report: Callable[[Check], None] | None = None,
    ) -> Diagnosis:
        """``ragkit doctor``'s checks, each handed to ``report`` as soon as it is known;
        ``self_test`` adds the recorded ingest + query in a subprocess."""
        from . import doctor

        return doctor.run(self, config_file=config_file, repair=repair, self_test_run=self_test, report=report)

    def register_model(self, path: str | Path, name: str | None = None) -> models.UserModel:
        """Pin a GGUF file's sha256 under ``name`` so that ``--model name`` (or its path) loads it."""
        return models.register(Path(path), self.settings.models_dir, name)

    # -- questions --------------------------------------------------------------------------

    def retrieve(
        self, question: str, *, collection: str | None = None, top_k: int | None = None, pipeline: str = "default"
    ) -> list[Hit]:
        """The passages ``ask`` would answer from, best first."""
        name = self._collection(collection)
        self.store.require_documents(name)
        chosen = retrieve.pipeline(pipeline)
        k = chosen.passages or top_k or self.settings.top_k
        return self.retriever.retrieve(question, name, k, use_lexical=chosen.lexical)

    def search_documents(
        self, question: str, *, collection: str | None = None, n: int = 10, pipeline: str = "default"
    ) -> list[DocumentHit]:
        """Whole documents ranked for ``question``, each by its best chunk (``ragkit eval retrieval``)."""
        name = self._collection(collection)
        self.store.require_documents(name)
        return self.retriever.documents(question, name, n, use_lexical=retrieve.pipeline(pipeline).lexical)

    def messages(self, question: str, hits: list[Hit], *, pipeline: str = "default") -> list[dict[str, str]]:
        """The chat prompt ``ask`` sends for these passages (public so benchmarks time the same)."""
        if not retrieve.pipeline(pipeline).guarded:
            return build_plain_messages(question, [h.chunk.text for h in hits])
        return self.prompt(question, hits).messages

    def prompt(
        self, question: str, hits: list[Hit], last: Turn | None = None, *, language: str | None = None
    ) -> Prompt:
        """The passages focused to the budget, their sentences numbered, as the model reads them;
        those it read ``last`` (the turn a follow-up continues) as it read them then. The answer
        is asked in ``language`` (default: the question's)."""
        similarity = None if language_of(question) == "zh" else self._similarity  # MiniLM knows no Chinese
        focused = focus(
            question, [h.chunk.text for h in hits], self.settings.context_tokens, self.tokenizer.count, similarity
        )
        bodies, more, lead = as_read(hits, focused, last)
        return build_prompt(question, hits, bodies, more, lead=lead, language=language)

    def _min_confidence(self, llm: ChatModel) -> float:
        """The configured answer threshold, else the one chosen for this model."""
        configured = self.settings.min_confidence
        return models.min_confidence(getattr(llm, "model", llm.label)) if configured is None else configured

    def _similarity(self, question: str, sentences: list[str]) -> list[float]:
        vectors = self.embedder.embed([question, *sentences])
        return [float(v) for v in vectors[1:] @ vectors[0]]

    def stream(self, question: str, **options: Any) -> AnswerStream:
        r""":meth:`ask` as the shells show it: iterate the stream for the best sentences, then the
        text as it is written; then read its ``answer`` and how that ``change``\ d the text."""
        return AnswerStream(functools.partial(self.ask, question, **options))

    def ask(
        self,
        question: str,
        *,
        collection: str | None = None,
        top_k: int | None = None,
        model: str | None = None,
        on_token: Callable[[str], None] | None = None,
        on_preview: Callable[[list[Preview]], None] | None = None,
        history: History = (),
        pipeline: str = "default",
    ) -> Answer:
        """Answer ``question`` from the collection, streaming text pieces to ``on_token``.

        ``on_preview`` gets the retrieved passages' sentences that match the question best, as
        soon as retrieval is done (before the model reads anything); :meth:`stream` wraps both.

        With ``history`` (earlier (question, answer) turns, oldest first), a follow-up question is
        first rewritten into a standalone one, which is what retrieval and the model then see;
        only the last turn is read (:func:`ragkit.followup.rewrite`), so a shell passes them all.
        ``pipeline="naive"`` answers the way a plain RAG loop does, as the eval baseline.
        """
        question = question.strip()
        name = self._collection(collection)
        chosen = retrieve.pipeline(pipeline)
        self.store.require_documents(name)
        llm = self.llm(model)  # load (and verify) before timing retrieval: errors come first
        self.embedder.load()
        started = time.perf_counter()
        standalone = followup.rewrite(llm, question, history)
        retrieval_started = time.perf_counter()
        hits = self.retriever.retrieve(
            standalone, name, chosen.passages or top_k or self.settings.top_k, use_lexical=chosen.lexical
        )
        timings = Timings(
            retrieval_ms=(time.perf_counter() - retrieval_started) * 1000, device=getattr(llm, "device", "model server")
        )
        # A follow-up reads the passages of the turn it follows first, as they were (cached).
        last = self._reads.of(llm.label, history)
        passages = (
            read_first(answer.relevant(hits, self.settings.min_score, question), last) if chosen.guarded else hits
        )
        if on_preview and passages:  # the best-ranked passages, numbered as the prompt numbers them
            best = sorted(enumerate(passages, start=1), key=lambda item: item[1].rank)[:PREVIEWS]
            on_preview(
                [Preview(n, h.chunk.doc_path, h.chunk.page, quote(h.chunk.text, standalone), h.score) for n, h in best]
            )
        policy = answer.Policy(
            self._min_confidence(llm), self.settings.min_coverage, self.settings.max_tokens, self.settings.temperature
        )
        if passages and not chosen.guarded:  # the baseline keeps the model's words and shows every passage
            messages = self.messages(standalone, passages, pipeline=pipeline)
            reply = answer.respond_plainly(llm, passages, policy=policy, messages=messages, on_token=on_token)
        else:
            reply = answer.respond(
                llm,
                question,
                hits,
                passages,
                policy=policy,
                prompt=lambda: self.prompt(standalone, passages, last, language=language_of(question)),
                document_text=lambda path: self.store.document_text(name, path),
                asked=followup.asked(standalone),
                on_token=on_token,
            )
            self._reads.remember(llm.label, question, reply.text, reply.turn)
        if reply.generation is not None:
            timings.record(reply.generation, reply.first_token_at, started)
        timings.total_ms = (time.perf_counter() - started) * 1000
        return reply.to_answer(question, standalone, llm.label, timings)
