"""Which Chromium the PDF and the browser tests drive, found in one place.

Standard library only, so that ``tools/sysdeps.py`` can use it before ``.venv``
exists. Playwright drives the browser; it never downloads one unless a reader asks
for it (``python -m playwright install chromium``), and that download is only the
fallback for a machine without root: CI installs Debian's ``chromium``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["CHROMIUM_ARGS", "PLAYWRIGHT_INSTALL", "find_chromium"]

#: Headless, no sandbox (CI runs as root), and no background traffic: on a machine
#: whose network is closed, Chromium's own update and sync requests would each fail.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Browser commands looked up on the PATH, in this order (Debian, Ubuntu, Google).
COMMANDS = ("chromium", "chromium-browser", "google-chrome")
#: What a reader without root runs, once ``.venv`` exists, to get Playwright's own.
PLAYWRIGHT_INSTALL = ".venv/bin/python -m playwright install chromium"


def playwright_browsers() -> Path:
    """The folder where ``playwright install`` puts its browsers."""
    custom = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if custom and custom != "0":
        return Path(custom)
    return Path.home() / ".cache" / "ms-playwright"


def find_chromium() -> Path | None:
    """The Chromium to drive, or None when this machine has none.

    In order: ``$CHROMIUM`` (a path, for any other install), a browser command on
    the PATH (Debian's ``chromium`` first), then a Chromium that
    ``playwright install`` already downloaded.
    """
    chosen = os.environ.get("CHROMIUM")
    if chosen:
        path = Path(chosen)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    for command in COMMANDS:
        found = shutil.which(command)
        if found:
            return Path(found)
    downloaded = sorted(playwright_browsers().glob("chromium-*/chrome-linux*/chrome"))
    return downloaded[-1] if downloaded else None
