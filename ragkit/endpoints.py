"""The servers ragkit may talk to, and the rule that keeps documents on named machines.

In the embedded default ragkit opens no connection at all. With ``store_url`` or ``llm_url`` it
sends chunks, vectors and questions to a Chroma server and a model server. Such a URL is
accepted only when its host is this machine (loopback) or a host the user listed in
``allow_remote``: a typo or a pasted URL never sends confidential documents to a host nobody
named. Proxies from the environment are bypassed for these hosts, so a ``HTTPS_PROXY`` set for
pip cannot route documents through a third machine either.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigError

#: What each URL setting is for, as ``ragkit doctor`` names it.
ROLES = {"store_url": "vector store (Chroma server)", "llm_url": "model server (OpenAI-compatible)"}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and ``localhost``."""
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


@dataclass(frozen=True)
class Endpoint:
    """One server URL, checked."""

    setting: str
    url: str
    host: str
    port: int
    tls: bool

    @property
    def local(self) -> bool:
        """True when the server is on this machine."""
        return is_loopback(self.host)

    @property
    def base(self) -> str:
        """``scheme://host:port`` with the path the user gave, without a trailing slash."""
        return self.url.rstrip("/")

    def __str__(self) -> str:
        return f"{ROLES.get(self.setting, self.setting)}: {self.url} ({_where(self)})"


def parse(setting: str, url: str, allow_remote: Sequence[str]) -> Endpoint:
    """Check ``url`` for ``setting``; a ConfigError says why it is refused and how to allow it."""
    flag = "--" + setting.replace("_", "-")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{flag} {url!r}: expected http://HOST:PORT or https://HOST:PORT")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"{flag} {url!r}: no user, password, query or fragment in the URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConfigError(f"{flag} {url!r}: invalid port") from None
    host = parts.hostname
    allowed = {h.strip().lower() for h in allow_remote}
    if not is_loopback(host) and host.lower() not in allowed:
        raise ConfigError(
            f"{flag} {url}: {host} is not this machine, and your documents would be sent there; "
            f"pass --allow-remote {host} (or add it to allow_remote in the config file) if you mean it"
        )
    return Endpoint(setting, url.strip(), host, port, parts.scheme == "https")


def bypass_proxies(host: str) -> None:
    """Add ``host`` to ``NO_PROXY`` so that HTTP clients built from now on connect directly:
    called just before chromadb builds its client (which reads proxies from the environment),
    never merely because settings name a server."""
    for name in ("NO_PROXY", "no_proxy"):
        present = [h for h in os.environ.get(name, "").split(",") if h]
        if host not in present:
            os.environ[name] = ",".join([*present, host])


def where_data_goes(named: Mapping[str, Endpoint]) -> str:
    """One sentence for the page: which machines see the documents under these settings."""
    if not named:
        return "Private by design: your files, the search index and the language model all stay on this computer."
    parts = []
    if store := named.get("store_url"):
        parts.append(f"passages and vectors are stored on the Chroma server at {store.url} ({_where(store)})")
    if llm := named.get("llm_url"):
        parts.append(f"questions and passages go to the model server at {llm.url} ({_where(llm)})")
    else:
        parts.append("the language model runs on this computer")
    return "Private by design: " + "; ".join(parts) + ". Nothing goes to any other machine."


def _where(endpoint: Endpoint) -> str:
    return "this machine" if endpoint.local else "a host allowed in allow_remote"
