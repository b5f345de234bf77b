"""Privacy switches, applied before any third-party ML or database library is imported.

ragkit promises that no byte of the user's data leaves the machine and that nothing is
downloaded at run time. Libraries underneath default to the opposite: huggingface_hub
fetches missing files and reports usage, chromadb sends anonymized telemetry (posthog),
onnxruntime reports to Microsoft from background threads. These switches are read by
those libraries at import time, so this module must be imported first; ``ragkit``'s
package ``__init__`` does that.

``setdefault`` is deliberately *not* used for the offline switches: a user environment
that says ``HF_HUB_OFFLINE=0`` must not re-open the network for ragkit.
"""

from __future__ import annotations

import logging
import os

#: Environment switches forced on every ragkit process, and shown by ``ragkit doctor``.
OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "ORT_DISABLE_TELEMETRY": "1",
}

#: Quiet switches: progress bars and warnings of libraries underneath do not belong in
#: ragkit's output (stdout carries answers and JSON). ``setdefault`` lets a developer turn
#: them back on.
QUIET_ENV: dict[str, str] = {
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def apply() -> None:
    """Force the offline and no-telemetry switches into this process's environment."""
    os.environ.update(OFFLINE_ENV)
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    # pypdf logs recoverable damage ("EOF marker not found") that ragkit reports per file itself.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


apply()
