"""Writing files whole or not at all: an interrupted run never leaves half a file.

``data`` writes the MNIST files with it (chapter 3 onward); the book's tools in
``tools/`` write the executed notebooks, the result summaries and the benchmark
JSON with it too.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all.

    The bytes go to a temporary file in the same folder, which then replaces
    ``path`` in one rename: a reader never sees half a file, and an error or an
    interrupt leaves the old file as it was and no temporary file behind. The
    temporary file is named ``.<name>.<pid>.<random>.part``; only a process killed
    while writing leaves one (``data.ensure_mnist`` removes old ones).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique hidden name; open(..., "xb") keeps the usual permissions (umask).
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
