"""``python -m ragkit.cli``: the ``ragkit`` command."""

from . import main

main()
