"""Hand out the slowest test files first when ``make test`` runs two at a time.

pytest-xdist (``--dist loadfile --no-loadscope-reorder``) gives each worker whole
files, in the order collected here. Every file is one unit (a notebook's cells
run top to bottom in one kernel; a module's fixtures are built once), except the
files of ``ONE_AT_A_TIME``, whose many independent tests are handed out one by one,
so that no worker waits for the other at the end of the run. The chapters are the
longest files by far, so they go first, slowest first, by the run time that ``make
notebooks`` recorded in each notebook (``metadata.book_src.execution.seconds``):
the two longest start at once on the two workers, and the other tests fill in
around them. Within a file the order never changes.
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


#: Files of many independent page visits (a browser each, a few seconds each).
ONE_AT_A_TIME = frozenset({"test_browser.py"})


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist loadfile``, except that ``ONE_AT_A_TIME`` files go test by test.

    (pytest-xdist's own ``loadgroup`` cannot do it with pytest 9: the group suffix it
    writes into ``item._nodeid`` is no longer read by ``item.nodeid``.)
    """
    if config.getvalue("dist") != "loadfile":
        return None  # pytest-xdist's own scheduler
    from xdist.scheduler import LoadScopeScheduling

    class FileOrTest(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return nodeid if Path(file).name in ONE_AT_A_TIME else file

    return FileOrTest(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the files by recorded run time, longest first; keep each file's order."""
    first_seen: dict[Path, int] = {}
    for item in items:
        first_seen.setdefault(item.path, len(first_seen))
    items.sort(key=lambda item: (-recorded_seconds(item.path), first_seen[item.path]))
