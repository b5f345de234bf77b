"""ragkit's page: ask your documents in the browser, with sources you can check.

Start it with ``ragkit ui`` (which keeps it on 127.0.0.1). The page is a thin shell over
:class:`ragkit.Ragkit`: it loads the library once per process, streams answers from it and
renders them through :mod:`ragkit.render`, so nothing a document or the model says can make the
browser fetch anything. Only absolute imports: Streamlit runs this file as a script.
"""

from __future__ import annotations

import functools
import hmac
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from ragkit import (
    CORRECTED,
    FILE_TYPES,
    PAGE_EXPOSED_ENV,
    PAGE_PASSWORD_ENV,
    WITHHELD,
    Answer,
    AnswerStream,
    Ragkit,
    RagkitError,
    Settings,
    Source,
    collection_name,
    conversation_markdown,
    highlighted_passage,
    literal,
    load_settings,
    neutralize,
    quote,
)

#: Shown under an answer whose checked text differs from what was streamed.
CORRECTED_CAPTION = "Corrected by the checks: the streamed text was replaced by the checked answer."

st.set_page_config(page_title="ragkit · ask your documents", layout="wide", initial_sidebar_state="expanded")


@st.cache_resource(show_spinner="Loading ragkit…")
def get_kit(key: str, _settings: Settings) -> Ragkit:
    """One library instance (store, embedder, models) per settings, shared by every session."""
    return Ragkit(_settings)


def require_password() -> None:
    """When the page listens beyond loopback, ask for the password before anything else."""
    if os.environ.get(PAGE_EXPOSED_ENV) != "1":
        return
    st.warning("This page is reachable from other computers on the network.")
    expected = os.environ.get(PAGE_PASSWORD_ENV, "")
    if not expected:
        st.error(f"No password is set: set {PAGE_PASSWORD_ENV} and restart `ragkit ui`.")
        st.stop()
    if st.session_state.get("authenticated"):
        return
    given = st.text_input("Password", type="password")
    if given and hmac.compare_digest(given.encode(), expected.encode()):
        st.session_state.authenticated = True
        st.rerun()
    if given:
        st.error("Wrong password.")
    st.stop()


def streamed_text(stream: AnswerStream, preview: Any) -> Iterator[str]:
    """The stream's text pieces, escaped, for ``st.write_stream``; its previews (the closest
    sentences, shown while the model reads) go into the ``preview`` container."""
    for event in stream:
        if event.kind == "preview":
            lines = [f"- {literal(p.sentence)} — *{literal(Path(p.file).name)}, page {p.page}*" for p in event.previews]
            preview.caption("While the model reads, the closest sentences:\n" + "\n".join(lines))
        else:
            yield neutralize(event.text)


def show_sources(kit: Ragkit, answer: Answer, collection: str, turn: int) -> None:
    """One expander per ``[n]`` of the answer (its evidence sentence marked on its page), or per
    closest passage of a declined answer: file, page, score."""
    if answer.evidence:
        st.caption("Sources")
        for item in answer.evidence:
            show_passage(kit, f"[{item.n}]", answer.sources[item.source - 1], item.sentence, collection, turn)
        return
    if not answer.shown_sources:
        return
    st.caption("Closest passages" if answer.declined else "Sources")
    for source in answer.shown_sources:
        sentence = quote(source.text, answer.evidence_for, limit=len(source.text) + 1)  # whole, to be found
        show_passage(kit, f"[{source.n}]", source, sentence, collection, turn)


def show_passage(kit: Ragkit, mark: str, source: Source, sentence: str, collection: str, turn: int) -> None:
    """An expander with the passage's text, ``sentence`` marked in it, and, for a PDF, the page
    itself rendered with the sentence highlighted, its neighbours a click away (``turn`` keeps
    the page choice of each answer's sources apart)."""
    title = f"{mark} {Path(source.file).name} · page {source.page} · score {source.score:.2f}"
    if source.flags:
        title += f" · ⚠ flagged: {', '.join(source.flags)}"
    with st.expander(title, expanded=False):
        if source.flags:
            st.warning(
                "This passage may be aimed at the AI rather than at you "
                f"({', '.join(source.flags)}); the model was told to treat it as data only."
            )
        original = Path(source.file)
        if original.is_file():  # read when clicked, not on every rerun
            st.download_button(
                f"Download {original.name}",
                data=functools.partial(original.read_bytes),
                file_name=original.name,
                on_click="ignore",
                key=f"file:{turn}:{mark}:{source.chunk_id}",
            )
        try:
            view = kit.show(source.file, source.page, sentence, collection=collection)
        except Exception as exc:  # noqa: BLE001 - one source that cannot be shown must not break the page
            view = None
            st.caption(str(exc))
        if view is None or view.png is None:
            # Other formats: the sentence in its page's text (the section, slide or sheet rows).
            st.markdown(highlighted_passage(view.text if view and view.start >= 0 else source.text, sentence))
            if view is not None and view.note:
                st.caption(view.note)
            return
        text, picture = st.columns([2, 3])
        text.markdown(highlighted_passage(source.text, sentence))
        number = picture.number_input(
            "Page", min_value=1, value=source.page, key=f"page:{turn}:{mark}:{source.chunk_id}"
        )
        if number != source.page:  # a neighbouring page, as it is
            try:
                view = kit.show(source.file, number, "", collection=collection)
            except Exception as exc:  # noqa: BLE001 - as above
                picture.caption(str(exc))
                return
        if view.png is not None:
            picture.image(
                str(view.png), caption=f"{Path(source.file).name}, page {number}", width="stretch", output_format="PNG"
            )
        if view.note and number == source.page:
            picture.caption(view.note)


def show_answer(kit: Ragkit, answer: Answer, collection: str, turn: int) -> None:
    """Render a finished answer (history replay)."""
    if answer.declined:
        st.info(answer.answer)
    else:
        st.markdown(neutralize(answer.answer))
    if answer.standalone_question and answer.standalone_question != answer.question:
        st.caption(f"Searched for: {answer.standalone_question}")
    show_sources(kit, answer, collection, turn)


def sidebar(kit: Ragkit) -> dict[str, Any]:
    """Collection, model, top-k, uploads and the document list; returns the ask options."""
    settings = kit.settings
    st.sidebar.header("Your documents")
    collections = kit.collections()
    collection = st.sidebar.selectbox("Collection", collections, index=collections.index(settings.collection))
    new_name = st.sidebar.text_input("…or a new collection", placeholder="e.g. contracts-2026").strip()
    if new_name:
        try:
            collection = collection_name(new_name)
        except RagkitError as exc:
            st.sidebar.error(str(exc))

    uploads = st.sidebar.file_uploader(
        "Add files (PDF, Word, PowerPoint, Excel, Markdown, text, HTML)",
        type=list(FILE_TYPES),
        accept_multiple_files=True,
    )
    if uploads and st.sidebar.button("Add to collection", type="primary", use_container_width=True):
        add_files(kit, uploads, collection)

    documents = kit.sources(collection)
    st.sidebar.subheader(f"{len(documents)} document(s) in “{collection}”")
    for doc in documents:
        left, right = st.sidebar.columns([3, 2], vertical_alignment="center")
        left.markdown(f"**{Path(doc.path).name}**  \n{doc.pages} page(s) · {doc.chunks} passages")
        with right.popover("Remove", use_container_width=True):
            st.write(
                f"Remove **{literal(Path(doc.path).name)}** from “{literal(collection)}”? Its passages are deleted."
            )
            if st.button("Remove it", key=f"remove:{collection}:{doc.path}", type="primary"):
                kit.remove(doc.path, collection=collection)
                st.rerun()

    st.sidebar.header("Answering")
    model = settings.model
    if settings.llm_url:  # the server's model answers; the GGUF files here play no part
        st.sidebar.caption(f"Model: served by {settings.llm_url}")
    else:
        llms = kit.answer_models()
        model = st.sidebar.selectbox("Model", llms, index=llms.index(model))
    top_k = st.sidebar.slider("Passages to read (top-k)", 1, 10, settings.top_k)
    return {"collection": collection, "model": model, "top_k": top_k}


def add_files(kit: Ragkit, uploads: list[Any], collection: str) -> None:
    """Ingest uploads with a progress bar and one line of result per file."""
    bar = st.sidebar.progress(0.0, text="Reading files…")

    def progress(result: Any, done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"{done}/{total}: {Path(result.path).name}")

    try:
        report = kit.add_uploads([(u.name, u.getvalue()) for u in uploads], collection=collection, progress=progress)
    except RagkitError as exc:
        st.sidebar.error(str(exc))
        return
    bar.empty()
    for f in report.files:
        name = Path(f.path).name
        if f.status == "skipped":
            st.sidebar.error(f"{name}: failed — {f.reason}")
        elif f.status == "unchanged":
            st.sidebar.info(f"{name}: unchanged")
        else:
            st.sidebar.success(f"{name}: {f.status} ({f.chunks} passages)")


def show_export(slot: Any, messages: list[dict[str, Any]]) -> None:
    """The conversation's Markdown export button in ``slot``, once there is an answer."""
    answers = [m["answer"] for m in messages if m["role"] == "assistant"]
    if answers:
        slot.download_button(
            "Export this conversation (Markdown)",
            conversation_markdown(answers),
            file_name="ragkit-conversation.md",
            mime="text/markdown",
            key=f"export:{len(answers)}",
        )


def main() -> None:
    """The whole page."""
    require_password()
    try:
        settings = load_settings()
        kit = get_kit(repr(settings), settings)
        options = sidebar(kit)
    except RagkitError as exc:
        st.error(str(exc))
        st.stop()

    st.title("Ask your documents")
    st.caption(kit.where_data_goes())

    has_documents = bool(kit.sources(options["collection"]))
    if not has_documents:
        st.info(
            "No documents here yet. Add PDF, Word, PowerPoint, Excel, Markdown, text or HTML files with **Add files** in the "
            "sidebar, then ask a question below. Answers cite the file, page and passage they come from."
        )
    messages: list[dict[str, Any]] = st.session_state.setdefault("messages", [])
    for turn, message in enumerate(messages):
        with st.chat_message(message["role"]):
            if message["role"] == "user":
                st.markdown(neutralize(message["content"]))
            else:
                show_answer(kit, message["answer"], message["collection"], turn)

    export = st.sidebar.empty()  # filled last, so that it holds the answer given in this run too
    show_export(export, messages)
    question = st.chat_input("Ask a question about your documents", disabled=not has_documents)
    if not question:
        return
    messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(neutralize(question))
    history = [(m["answer"].question, m["answer"].answer) for m in messages if m["role"] == "assistant"]
    with st.chat_message("assistant"):
        preview, reply = st.empty(), st.empty()
        stream = kit.stream(question, history=history, **options)
        try:
            with st.spinner("Reading your documents…"):
                reply.write_stream(streamed_text(stream, preview))
        except RagkitError as exc:
            st.error(str(exc))
            messages.pop()
            return
        except Exception as exc:  # noqa: BLE001 - shown as a message, never as a traceback
            st.error(f"Unexpected error: {type(exc).__name__}: {exc}")
            messages.pop()
            return
        finally:  # a new question reruns the page mid-stream: stop writing the abandoned answer
            stream.close()
        preview.empty()
        answer = stream.answer
        assert answer is not None  # set once the stream ends
        # The checked answer replaces what was streamed; a caption says when that changed it.
        if answer.declined:
            reply.info(answer.answer)
        else:
            reply.markdown(neutralize(answer.answer))
        if stream.change == WITHHELD:
            st.caption(answer.withheld)
        elif stream.change == CORRECTED:
            st.caption(CORRECTED_CAPTION)
        timings = answer.timings
        if timings.first_token_ms is not None:
            st.caption(f"First words after {timings.first_token_ms / 1000:.1f} s · {answer.model}")
        if answer.standalone_question != answer.question:
            st.caption(f"Searched for: {answer.standalone_question}")
        show_sources(kit, answer, options["collection"], len(messages))
    messages.append({"role": "assistant", "answer": answer, "collection": options["collection"]})
    show_export(export, messages)


main()
