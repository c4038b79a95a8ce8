"""What several test modules need: the repository's config and TOC, a local web server.

Imported as ``helpers``: pytest puts this folder on ``sys.path`` for the tests in it.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from book_src.sphinx_ext import read_toc

ROOT = Path(__file__).resolve().parents[1]


def load_config() -> dict[str, Any]:
    """Return ``_config.yml`` as a dictionary."""
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def repository_url() -> str:
    """Return ``repository.url`` from ``_config.yml``, without a trailing slash."""
    return load_config()["repository"]["url"].rstrip("/")


def toc_docnames() -> list[str]:
    """Return the documents of ``_toc.yml`` in reading order (root first)."""
    return read_toc(ROOT / "_toc.yml")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, without one log line per request on stderr."""

    def log_message(self, format: str, *args: object) -> None:
        pass


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
