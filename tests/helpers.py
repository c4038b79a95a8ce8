"""What test modules of both folders share: the repository root and a local web server.

Importable as ``helpers`` (``pyproject.toml`` puts ``tests/`` on pytest's path). The
server is ``tools/serve.py`` (standard library only, shared with ``make pdf``);
nothing here imports Sphinx, so the course tests stay light.
"""

from __future__ import annotations

from pathlib import Path

from tools.serve import serving

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "serving"]
