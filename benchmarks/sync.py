"""Server mode: what bringing a mirror up to date costs, with and without the change token.

Prints figures, asserts nothing. Run from the repository root:

    .venv/bin/python benchmarks/sync.py [--docs 100,1000,10000] [--reps 20]

Before it reads, a ragkit process on a Chroma server brings its local mirror of the collection
up to date (at most once a second). It first reads the manifest's change token; only when that
changed does it fetch every document record and compare them with the mirror. This starts a
Chroma server on loopback (``tests/servers.py``), writes N document records (no chunks, so that
only the manifest is measured) into the manifest collection in batches, lets a second data dir
mirror them once, then times, per N: a sync that fetches and compares all records (what every
sync did before the token; ``force=True`` still does) and a sync that finds the token unchanged.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.servers

from ragkit.config import load_settings  # noqa: E402
from ragkit.records import DocumentInfo  # noqa: E402
from ragkit.store import Store  # noqa: E402
from ragkit.store.mirror import changed  # noqa: E402
from tests.servers import chroma_server  # noqa: E402

BATCH = 1000


def median_ms(run: Callable[[], None], reps: int) -> float:
    """Median wall time of ``run`` in milliseconds."""
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def publish(store: Store, collection: str, n: int) -> None:
    """N document records on the server, written in batches as many ingests would leave them."""
    manifest = store._manifest(collection, "bench-embedder")
    now = time.time()
    for first in range(0, n, BATCH):
        infos = [
            DocumentInfo(f"/docs/file-{i:06d}.md", "0" * 64, 100, now, 1, 0, "md", now)
            for i in range(first, min(n, first + BATCH))
        ]
        manifest.upsert(
            ids=[d.path for d in infos], embeddings=[[1.0]] * len(infos), metadatas=[asdict(d) for d in infos]
        )
    changed(manifest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", default="100,1000,10000", help="document counts, comma-separated")
    parser.add_argument("--reps", type=int, default=20, help="timed syncs per figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ragkit-sync-") as tmp, chroma_server(Path(tmp) / "chroma") as url:
        endpoint = load_settings({"store_url": url}, environ={}).endpoints()["store_url"]
        print(f"Chroma server {url}; median of {args.reps} syncs each\n")
        print(f"{'documents':>9} {'all records ms':>14} {'token only ms':>13} {'ratio':>7}")
        for n in (int(x) for x in args.docs.split(",")):
            collection = f"sync-{n}"
            publish(Store(Path(tmp) / "writer", endpoint), collection, n)
            reader = Store(Path(tmp) / f"reader-{n}", endpoint)
            reader.documents(collection)  # the first sync mirrors every record

            def token_only(reader: Store = reader, collection: str = collection) -> None:
                reader._mirror._synced.clear()  # past the once-a-second limit, as a read a second later is
                reader._sync(collection)

            def all_records(reader: Store = reader, collection: str = collection) -> None:
                reader._sync(collection, force=True)

            full, token = median_ms(all_records, args.reps), median_ms(token_only, args.reps)
            assert len(reader.documents(collection)) == n
            print(f"{n:>9} {full:>14.1f} {token:>13.1f} {full / token:>6.0f}x")


if __name__ == "__main__":
    main()
