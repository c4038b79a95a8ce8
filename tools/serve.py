"""A static web server on 127.0.0.1, for ``make pdf`` and the tests.

Chromium prints the book from it (``tools/pdf.py``), and the browser and data
tests serve folders with it (``tests/helpers.py``). Standard library only.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["QuietHandler", "serving"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, without one log line per request on stderr."""

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing."""


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 on a free port; yield the base URL (no final /)."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
