"""Hand out the slowest test files first when ``make test`` runs two at a time.

pytest-xdist (``--dist loadfile --no-loadscope-reorder``) gives each worker whole
files, in the order collected here. The chapters are the longest files by far, so
they go first, slowest first, by the run time that ``make notebooks`` recorded in
each notebook (``metadata.book_src.execution.seconds``): the two longest start at
once on the two workers, and the short test files fill in around them. Within a
file the order never changes (a notebook's cells run top to bottom).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest


@cache
def recorded_seconds(path: Path) -> float:
    """Seconds ``make notebooks`` took to run the notebook at ``path`` (0: unknown)."""
    if path.suffix != ".ipynb":
        return 0.0
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))["metadata"]
        return float(metadata["book_src"]["execution"]["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the files by recorded run time, longest first; keep each file's order."""
    first_seen: dict[Path, int] = {}
    for item in items:
        first_seen.setdefault(item.path, len(first_seen))
    items.sort(key=lambda item: (-recorded_seconds(item.path), first_seen[item.path]))
