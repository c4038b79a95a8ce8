"""What the book's tests share: the configuration and the table of contents."""

from __future__ import annotations

from typing import Any

import yaml

from tools.sphinx_ext import read_toc

from helpers import ROOT


def load_config() -> dict[str, Any]:
    """Return ``_config.yml`` as a dictionary."""
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def repository_url() -> str:
    """Return ``repository.url`` from ``_config.yml``, without a trailing slash."""
    return load_config()["repository"]["url"].rstrip("/")


def toc_docnames() -> list[str]:
    """Return the documents of ``_toc.yml`` in reading order (root first)."""
    return read_toc(ROOT / "_toc.yml")
