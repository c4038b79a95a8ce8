"""What the test folders share: the repository root, a local web server, a sanitizer.

Importable as ``helpers`` (``pyproject.toml`` puts ``tests/`` on pytest's path). The
server is ``tools/serve.py`` (standard library only, shared with ``make pdf``);
nothing here imports Sphinx, so the course tests stay light.
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.serve import serving

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "sanitize", "serving"]


def sanitize(text: str) -> str:
    """Apply the notebook tests' sanitizer rules (tests/nbval_sanitize.cfg)."""
    config = (ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    pairs = re.findall(r"^regex: (.*)\nreplace: (.*)$", config, flags=re.M)
    for pattern, replacement in pairs:
        text = re.sub(pattern, replacement, text)
    return text
