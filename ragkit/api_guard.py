"""What keeps ``ragkit serve`` safe to leave running: a bearer token, body size limits and a
bounded queue in front of the one model.

The token and size checks are plain ASGI wrappers around the whole app, so they run before
FastAPI reads a byte of the body: a stranger's request is refused with 401 and an oversized one
with 413 without the server ever holding it. The :class:`Gate` lets one answer be generated at a
time (a CPU runs one model at full speed, not two at half), lets a few more wait their turn, and
refuses the rest at once with 503 and ``Retry-After`` instead of letting them pile up.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .api_openai import error_body

#: The environment variable holding the bearer token clients must send.
TOKEN_ENV = "RAGKIT_API_TOKEN"
#: Paths answered without the token: a load balancer's or a script's liveness check.
OPEN_PATHS = frozenset({"/health"})
#: Seconds an answer is assumed to take before the first one has been timed.
FIRST_ESTIMATE_S = 10.0


def refusal(status: int, message: str, kind: str, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An OpenAI-style error response."""
    return JSONResponse(error_body(message, kind, code), status_code=status, headers=headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class RequireToken:
    """Refuse every request but :data:`OPEN_PATHS` without ``Authorization: Bearer <token>``.

    The token is compared in constant time, so response timing tells an attacker nothing about
    how much of a guess was right.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header value carries the token."""
        scheme, _, given = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        header = _header(scope, b"authorization")
        if self.authorized(header):
            return await self.app(scope, receive, send)
        reason = "wrong bearer token" if header else "missing bearer token"
        response = refusal(
            401,
            f"{reason}: send 'Authorization: Bearer <token>' with the token set in {TOKEN_ENV} on the server",
            "invalid_request_error",
            "invalid_api_key",
            {"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)


class LimitBody:
    """Refuse a body larger than ``limit(scope)`` bytes (413), judged by its Content-Length.

    A body without a length (chunked transfer encoding) is refused with 411: only a declared
    length can be checked before the body is read, and the HTTP server never passes on more
    bytes than a request declared. Every common client sends the length.
    """

    def __init__(self, app: ASGIApp, limit: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _header(scope, b"content-length")
        if declared is None and _header(scope, b"transfer-encoding") is not None:
            response = refusal(411, "send the request body with a Content-Length", "invalid_request_error", "length")
            return await response(scope, receive, send)
        limit = self.limit(scope)
        if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
            response = refusal(
                413,
                f"request body of {declared} bytes is over this server's limit of {limit} bytes "
                "(ragkit serve --max-body-kb, --max-upload-mb)",
                "invalid_request_error",
                "request_too_large",
            )
            return await response(scope, receive, send)
        await self.app(scope, receive, send)


class Busy(Exception):
    """The model is taken and the queue is full (or the wait ran out): answer 503."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Gate:
    """One generation at a time, at most ``waiting`` more queued for it, the rest refused.

    Used from the server's one event loop only, so the counter needs no lock of its own.
    """

    def __init__(self, waiting: int) -> None:
        self.waiting = waiting
        self.admitted = 0
        self._model = anyio.Semaphore(1)  # no owner task: a stream may end in another task
        self._seconds = FIRST_ESTIMATE_S

    @property
    def retry_after(self) -> int:
        """Seconds until a turn is likely free: the recent answer time for each one ahead."""
        return max(1, math.ceil(self._seconds * max(1, self.admitted)))

    def check(self) -> None:
        """Raise :class:`Busy` when a request arriving now would be refused."""
        if self.admitted > self.waiting:
            raise Busy(
                f"the model is busy and {self.admitted - 1} question(s) are waiting (the queue holds "
                f"{self.waiting}); try again in {self.retry_after} s",
                self.retry_after,
            )

    @asynccontextmanager
    async def turn(self, wait: float) -> AsyncIterator[None]:
        """Wait for the model (Busy when the queue is full or no turn came within ``wait`` s)."""
        self.check()
        self.admitted += 1
        try:
            with anyio.move_on_after(wait) as waited:
                await self._model.acquire()
            if waited.cancelled_caught:
                raise Busy(f"waited {wait:g} s for the model without a turn; try again later", self.retry_after)
            started = time.monotonic()
            try:
                yield
            finally:
                self._model.release()
                self._seconds = 0.7 * self._seconds + 0.3 * (time.monotonic() - started)
        finally:
            self.admitted -= 1

    def state(self) -> dict[str, Any]:
        """For ``/health``: whether the model is generating and how many wait."""
        return {"generating": self.admitted > 0, "waiting": max(0, self.admitted - 1), "queue": self.waiting}
