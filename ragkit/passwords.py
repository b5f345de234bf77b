"""Passwords for encrypted PDFs: one for every file, and/or a TOML map of names or globs.

The map file holds ``"pattern" = "password"`` pairs; a pattern is matched against the end of
the file's path (``"report.pdf"``, ``"scans/*.pdf"``, ``"*.pdf"``), first match wins, and the
single ``--password`` applies to files no pattern matches. Passwords are never printed, logged
or stored: this object's repr hides them, and a wrong one is reported only as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePath

from .config import read_toml
from .errors import ConfigError


@dataclass(frozen=True)
class Passwords:
    """Which password to try for which file."""

    default: str | None = field(default=None, repr=False)
    patterns: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        return f"Passwords(default={'***' if self.default else None}, patterns={[p for p, _ in self.patterns]})"

    def for_file(self, path: Path) -> str | None:
        """The password to try for ``path``, if any."""
        for pattern, password in self.patterns:
            if PurePath(path).match(pattern):
                return password
        return self.default

    @classmethod
    def load(cls, default: str | None = None, file: Path | None = None) -> Passwords:
        """From a ``--password`` value and a ``--passwords`` TOML file (both optional)."""
        if file is None:
            return cls(default or None)
        data = read_toml(file, "password file")
        wrong = sorted(k for k, v in data.items() if not isinstance(v, str))
        if wrong:
            raise ConfigError(f'{file}: each entry must be "pattern" = "password" (a string); not: {", ".join(wrong)}')
        return cls(default or None, tuple(data.items()))
