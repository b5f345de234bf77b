"""``ragkit serve``: the HTTP API, a thin shell over :class:`ragkit.Ragkit`.

``POST /v1/chat/completions`` speaks OpenAI's chat API (see :mod:`ragkit.api_openai`), so the
tools people already run can ask their documents; ragkit's own endpoints search passages and
list, upload and remove documents. The app is safe to leave running (see
:mod:`ragkit.api_guard`): loopback by default, a bearer token when it is not, size limits, one
generation at a time behind a bounded queue, and a time limit per answer. It loads nothing from
the network: FastAPI's interactive docs, which fetch their scripts from a CDN, are switched off.
docs/api.md describes every endpoint.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Scope

from . import AnswerStream, ConfigError, Event, Ragkit, RagkitError, __version__, collection_name, is_loopback
from .api_guard import TOKEN_ENV, Busy, Gate, LimitBody, RequireToken, refusal
from .api_openai import (
    ChatRequest,
    Completion,
    SearchRequest,
    collection_of,
    conversation,
    error_body,
    extension,
    passage_json,
    previews_json,
    usage,
)

log = logging.getLogger(__name__)

#: HTTP status, OpenAI error type and code for each ragkit exit code (see ragkit.errors).
_STATUS = {
    2: (400, "invalid_request_error", "invalid_value"),
    3: (500, "server_error", "model_error"),
    4: (404, "invalid_request_error", "empty_collection"),
    5: (503, "server_error", "store_locked"),
    6: (502, "server_error", "backend_unavailable"),
}
#: Seconds a closed answer stream gets to stop its generation before the next one may start.
STOP_GRACE_S = 30.0
#: Multipart framing allowed on top of the upload limit (boundaries, part headers).
MULTIPART_OVERHEAD = 64 * 1024
#: Files and form fields one upload request may carry.
MAX_FILES, MAX_FIELDS = 100, 10


@dataclass(frozen=True)
class Limits:
    """The server's limits, from ``ragkit serve``'s flags."""

    #: Questions that may wait while one is answered; more are refused with 503.
    queue: int = 4
    #: Seconds one answer may take, waiting for its turn included.
    timeout: float = 300.0
    #: Largest JSON request body, in KiB.
    max_body_kb: int = 1024
    #: Largest upload request, in MiB (all its files together).
    max_upload_mb: int = 200

    def body_limit(self, scope: Scope) -> int:
        """Bytes allowed in the body of the request ``scope`` describes."""
        if scope.get("method") == "POST" and scope["path"] == "/v1/documents":
            return self.max_upload_mb * 1024 * 1024 + MULTIPART_OVERHEAD
        return self.max_body_kb * 1024


def _classify(exc: Exception) -> tuple[int, str, str, str, dict[str, str] | None]:
    """(HTTP status, message, OpenAI error type, code, headers) for an error; the message is
    the one-line reason the CLI prints."""
    if isinstance(exc, Busy):
        return 503, str(exc), "server_error", "busy", {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, TimeoutError):
        return 504, str(exc) or "the answer took too long", "server_error", "timeout", None
    if isinstance(exc, RagkitError):
        status, kind, code = _STATUS.get(exc.exit_code, (400, "invalid_request_error", "ragkit_error"))
        return status, str(exc), kind, code, {"Retry-After": "5"} if status == 503 else None
    return 500, "internal error: see the server's log", "server_error", "internal_error", None


def _error_response(exc: Exception) -> JSONResponse:
    """The OpenAI-style response for an error."""
    status, message, kind, code, headers = _classify(exc)
    return refusal(status, message, kind, code, headers)


def _invalid(message: str) -> HTTPException:
    return HTTPException(400, message)


def _validation_message(exc: RequestValidationError) -> str:
    """The first validation error as one line: where, then what."""
    first = exc.errors()[0]
    loc = list(first.get("loc", ()))
    where = ".".join(str(part) for part in (loc[1:] if loc[:1] in (["body"], ["query"]) else loc))
    return f"{where or 'request'}: {first.get('msg', 'invalid')}"


def _sse(data: dict[str, Any] | str) -> str:
    """One server-sent event."""
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


class _Reader:
    """Reads an answer stream's events in worker threads, so the event loop never blocks on
    the model, and stops its generation when the reading ends."""

    def __init__(self, stream: AnswerStream) -> None:
        self.stream = stream
        self._events = iter(stream)
        #: Set once a thread asked for the first event, which starts the stream's generation.
        self._started = threading.Event()

    def _next(self) -> Event | None:
        self._started.set()
        return next(self._events, None)

    async def events(self, deadline: float) -> AsyncIterator[Event]:
        """The stream's events; TimeoutError at ``deadline`` (``anyio.current_time()``)."""
        while True:
            with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                event = await anyio.to_thread.run_sync(self._next, abandon_on_cancel=True)
            if event is None:
                return
            yield event

    async def stop(self) -> None:
        """Close the stream and wait (shielded) until its generation has stopped, so the model
        is free when the next turn starts, even when the client went away."""
        self.stream.close()
        if self._started.is_set():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.stream.finished.wait, STOP_GRACE_S)


def create_app(kit: Ragkit, limits: Limits = Limits(), token: str | None = None) -> ASGIApp:
    """The API over ``kit``: the FastAPI app inside the token and size checks."""
    gate = Gate(limits.queue)
    writing = anyio.Lock()  # one upload or removal at a time: the store takes one writer
    api = FastAPI(title="ragkit", version=__version__, docs_url=None, redoc_url=None)

    for kind in (RagkitError, Busy, TimeoutError, Exception):
        api.add_exception_handler(kind, lambda _request, exc: _error_response(exc))
    api.add_exception_handler(
        RequestValidationError,
        lambda _request, exc: refusal(400, _validation_message(exc), "invalid_request_error", "invalid_request"),
    )
    api.add_exception_handler(
        HTTPException,
        lambda _request, exc: JSONResponse(
            error_body(str(exc.detail), "invalid_request_error", None), status_code=exc.status_code
        ),
    )

    def named(collection: str | None) -> str:
        """The collection a request means (checked), else the server's default."""
        return collection_name(collection) if collection else kit.settings.collection

    @api.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness, without the token: answers while a question is being generated."""
        return {"status": "ok", "version": __version__} | gate.state()

    @api.get("/v1/models")
    async def models() -> dict[str, Any]:
        """The collections, as OpenAI's model list: a chat request's ``model`` picks one."""
        names = await run_in_threadpool(kit.collections)
        return {
            "object": "list",
            "data": [{"id": n, "object": "model", "created": 0, "owned_by": "ragkit"} for n in names],
        }

    async def answered(answering: AnswerStream) -> AsyncIterator[Event]:
        """The answer's events during its turn at the model, within the time limit; then the
        stream is closed and its generation stopped, also when the client went away."""
        deadline = anyio.current_time() + limits.timeout
        async with gate.turn(limits.timeout):
            reader = _Reader(answering)
            try:
                async for event in reader.events(deadline):
                    yield event
            except TimeoutError:
                raise TimeoutError(
                    f"the answer took longer than {limits.timeout:g} s (the server's --timeout)"
                ) from None
            finally:
                await reader.stop()

    async def chunks(answering: AnswerStream, completion: Completion, include_usage: bool) -> AsyncIterator[str]:
        """The SSE stream: the text as written, what the checks changed, then the ``ragkit`` field."""
        try:
            yield _sse(completion.chunk({"role": "assistant", "content": ""}))
            async with aclosing(answered(answering)) as events:  # closed here, even if the client left
                async for event in events:
                    if event.kind == "preview":
                        yield _sse(completion.chunk({}, ragkit=previews_json(event.previews)))
                    else:
                        yield _sse(completion.chunk({"content": event.text}))
            answer = answering.answer
            assert answer is not None  # set when the events end without an error
            if tail := answering.closing:
                yield _sse(completion.chunk({"content": tail}))
            yield _sse(completion.chunk({}, finish_reason="stop", ragkit=extension(answer, answering.change)))
            if include_usage:
                yield _sse(completion.chunk({}, answer_usage=usage(answer)))
        except Exception as exc:  # noqa: BLE001 - the status is sent: the error travels in the stream
            status, message, kind, code, _headers = _classify(exc)
            if status == 500:  # a bug, not a reason: keep its traceback (uvicorn logs those of responses)
                log.error("unexpected error in an answer stream", exc_info=exc)
            yield _sse(error_body(message, kind, code))
        yield _sse("[DONE]")

    @api.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatRequest) -> dict[str, Any] | StreamingResponse:
        """Answer the last user message from the collection ``model`` names."""
        try:
            question, history = conversation(body.messages)
        except ValueError as exc:
            raise _invalid(str(exc)) from None
        name = named(collection_of(body.model))
        await run_in_threadpool(kit.require_documents, name)  # a status code, also for a stream
        completion = Completion(body.model)
        answering = kit.stream(question, collection=name, history=history)  # starts when iterated
        if body.stream:
            gate.check()  # a full queue is a 503, not an error inside a started stream
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                chunks(answering, completion, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        async for _event in answered(answering):
            pass
        assert answering.answer is not None
        return completion.whole(answering.answer)

    @api.get("/v1/search")
    async def search_get(
        query: str = Query(min_length=1), collection: str | None = None, top_k: int = Query(10, ge=1, le=100)
    ) -> dict[str, Any]:
        """The passages retrieval finds for ``query``, best first, without asking the model."""
        return await _search(SearchRequest(query=query, collection=collection, top_k=top_k))

    @api.post("/v1/search")
    async def search_post(body: SearchRequest) -> dict[str, Any]:
        """``GET /v1/search`` with a JSON body, for long queries."""
        return await _search(body)

    async def _search(body: SearchRequest) -> dict[str, Any]:
        hits = await run_in_threadpool(lambda: kit.retrieve(body.query, collection=body.collection, top_k=body.top_k))
        return {"object": "list", "data": [passage_json(h) for h in hits]}

    @api.get("/v1/documents")
    async def documents(collection: str | None = None) -> dict[str, Any]:
        """The documents stored in a collection."""
        docs = await run_in_threadpool(kit.sources, collection)
        return {"object": "list", "collection": named(collection), "data": [d.to_json() for d in docs]}

    @api.post("/v1/documents", response_model=None)
    async def upload(request: Request, collection: str | None = None) -> dict[str, Any] | JSONResponse:
        """Store uploaded files (multipart field ``file``, repeatable) under the data dir and ingest them."""
        name = named(collection)
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS)
        try:
            files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
            if not files:
                raise _invalid("send the documents as multipart/form-data, each in a field named 'file'")
            uploads = [(f.filename or "upload", await f.read()) for f in files]
        finally:
            await form.close()
        async with writing:
            report = await run_in_threadpool(lambda: kit.add_uploads(uploads, collection=name))
        data = report.to_json()
        if not report.failed:
            return data
        reasons = "; ".join(f"{e['file']}: {e['reason']}" for e in data["errors"])
        return JSONResponse(
            error_body(reasons, "invalid_request_error", "unreadable_file") | {"ragkit": data}, status_code=422
        )

    @api.delete("/v1/documents")
    async def remove(path: str = Query(min_length=1), collection: str | None = None) -> dict[str, Any]:
        """Forget one document, by the ``path`` the document list gives."""
        name = named(collection)
        async with writing:
            removed = await run_in_threadpool(kit.remove, path, name)
        if not removed:
            raise HTTPException(404, f"{path}: not in collection {name!r}")
        return {"removed": True, "path": path, "collection": name}

    return RequireToken(LimitBody(api, limits.body_limit), token) if token else LimitBody(api, limits.body_limit)


def check_exposure(host: str, expose: bool, token: str | None) -> None:
    """Refuse a non-loopback address unless asked for (``--expose``) and protected by a token."""
    if is_loopback(host):
        return
    if not expose:
        raise ConfigError(f"--host {host} makes the API reachable from the network; add --expose to mean it")
    if not token:
        raise ConfigError(f"an exposed API needs a bearer token: set {TOKEN_ENV}")


def run(kit: Ragkit, *, host: str, port: int, expose: bool, token: str | None, limits: Limits) -> None:
    """Serve the API in the foreground until Ctrl-C or SIGTERM.

    uvicorn runs with its access log off (questions travel in query strings), no server header,
    no proxy headers trusted and no WebSocket support loaded.
    """
    import uvicorn

    check_exposure(host, expose, token)
    app = create_app(kit, limits, token or None)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if not is_loopback(host):
        print(
            f"WARNING: listening on {host}: the API is reachable from the network; "
            f"every request needs the bearer token in {TOKEN_ENV}",
            file=sys.stderr,
        )
    elif token:
        print(f"every request needs the bearer token in {TOKEN_ENV}", file=sys.stderr)
    print(
        f"ragkit API for {kit.settings.data_dir}: http://{shown}:{port}/v1  (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        ws="none",
        lifespan="off",
        timeout_keep_alive=5,
        limit_concurrency=limits.queue + 64,
    )
