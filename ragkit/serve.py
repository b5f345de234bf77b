"""``ragkit ui``: start the Streamlit page with settings that keep it local.

A default Streamlit server listens on every interface and reports usage statistics. ragkit
always passes the address, headless mode and no statistics explicitly (so a stray config file
cannot undo them) and refuses a non-loopback address unless the user both asks for it and sets
a password, which the page then requires.
"""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import sys
from pathlib import Path

from .errors import ConfigError

#: The environment variable holding the page password when it is exposed beyond loopback.
PAGE_PASSWORD_ENV = "RAGKIT_UI_PASSWORD"
#: Set for the page process when it listens beyond loopback, so it shows that and asks for the password.
PAGE_EXPOSED_ENV = "RAGKIT_UI_EXPOSED"


def app_path() -> Path:
    """The page script (``ui/app.py`` in the source tree, installed as package ``ragkit_ui``)."""
    spec = importlib.util.find_spec("ragkit_ui")
    if spec is None or spec.origin is None:
        raise ConfigError("the ragkit page is not installed (package ragkit_ui missing): reinstall ragkit")
    return Path(spec.origin).parent / "app.py"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def command(host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line with every privacy-relevant option set."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.maxUploadSize",
        "200",
        "--client.showErrorDetails",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--global.developmentMode",
        "false",
    ]


def run_page(host: str, port: int, env: dict[str, str]) -> int:
    """Run the page server on ``host:port`` in the foreground until it exits; return its exit status.

    SIGTERM and SIGHUP sent to ``ragkit ui`` (a service manager stopping it, a closed terminal)
    are passed on, so the Streamlit process never outlives the command that started it. Ctrl-C
    reaches both through the terminal's process group; the server then shuts down by itself, and
    a second Ctrl-C kills it.
    """
    child = subprocess.Popen(command(host, port), env=env)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), forward)
    interrupted = False
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:  # the server got the same Ctrl-C and is stopping; wait for it
            if interrupted:
                child.kill()
            interrupted = True
