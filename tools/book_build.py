"""``jupyter-book``, without a 2 to 3 second import it never uses (``make book``).

Jupyter Book imports jsonschema to validate ``_config.yml``, and jsonschema, at
import time, loads the optional package ``rfc3987_syntax`` when it is installed (it
is, for jupyter-server), which compiles its grammars: 2 to 3 s of a 13 s build on a
2-core machine, in each of the two builds of ``make book`` (English and French).
That package only serves JSON Schema's ``iri`` formats, which Jupyter Book's schema
does not use and never checks (it passes no format checker). Marked as not
importable, it is skipped by jsonschema; nothing else changes.

Usage: ``python -m tools.book_build build ...``, the arguments of ``jupyter-book``.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run Jupyter Book's command line without importing ``rfc3987_syntax``."""
    if "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    from jupyter_book.cli.main import main as jupyter_book

    sys.argv[0] = "jupyter-book"
    jupyter_book()


if __name__ == "__main__":
    main()
