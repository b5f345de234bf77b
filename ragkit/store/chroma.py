"""chromadb clients as ragkit opens them: no telemetry, no settings from outside, bounded waits.

Everything ragkit does to chromadb beyond its public API is here, in :func:`_limit_waits`, so
that a chromadb release that moves its internals breaks one function and its test
(``tests/test_backends.py``), not the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import endpoints
from ..endpoints import Endpoint
from ..errors import ServerError

#: Seconds one request to the Chroma server may take before it is an error (chromadb's own
#: client waits forever, which would freeze every page session behind the store lock).
SERVER_TIMEOUT_SECONDS = 120.0


def embedded(path: Path) -> Any:
    """The on-disk store of a data dir."""
    import chromadb

    return chromadb.PersistentClient(path=str(path), settings=_settings())


def connect(endpoint: Endpoint) -> Any:
    """A client of a Chroma server; a failure is one line naming the server."""
    import chromadb

    try:
        endpoints.bypass_proxies(endpoint.host)  # chromadb's httpx reads proxy variables
        client = chromadb.HttpClient(host=endpoint.host, port=endpoint.port, ssl=endpoint.tls, settings=_settings())
    except Exception as exc:  # noqa: BLE001 - connection errors surface as several types
        reason = str(exc) or type(exc).__name__
        raise ServerError(
            f"store server {endpoint.url}: cannot connect ({reason}); is `chroma run` listening there?"
        ) from None
    _limit_waits(client)
    return client


def _settings() -> Any:
    """chromadb client settings: no telemetry, no reset endpoint, and nothing else from outside.

    chromadb's settings read ``CHROMA_*`` environment variables and a ``.env`` file in the working
    directory, which could name a trace collector or another API server; ``model_construct``
    takes chromadb's defaults and these two values only.
    """
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings.model_construct(anonymized_telemetry=False, allow_reset=False)


def _limit_waits(client: Any) -> None:
    """Give chromadb's HTTP session a timeout (:data:`SERVER_TIMEOUT_SECONDS`).

    chromadb offers no setting for it, so this sets its private httpx session's timeout, and
    does nothing should a later chromadb keep the session elsewhere.
    """
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(SERVER_TIMEOUT_SECONDS, connect=10.0)
