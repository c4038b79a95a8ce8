"""A chapter's result summary, saved as JSON for a later chapter (chapters 3 and 4).

Chapter 3 trains cnn1d and saves what it measured (parameters, test accuracy,
seconds per epoch, the training history) with :func:`save_result`; chapter 4
reads it back with :func:`load_result` to compare cnn1d with cnn2d without
training cnn1d again.

Summaries live in ``<data root>/results/<name>.json``, where the data root is
:func:`book_src.data.default_root` (the repository's git-ignored ``data/``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from book_src.data import default_root, write_atomic

__all__ = ["load_result", "result_path", "save_result"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def result_path(name: str, root: str | Path | None = None) -> Path:
    """Where the summary called ``name`` is stored.

    Args:
        name: A plain file name without extension, such as ``"cnn1d"``.
        root: The data root; :func:`book_src.data.default_root` if ``None``.

    Returns:
        ``<root>/results/<name>.json``.

    Raises:
        ValueError: ``name`` is empty or holds a path separator.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"result name must be letters, digits, '_', '-' or '.' (no folders), "
            f"got {name!r}"
        )
    root = default_root() if root is None else Path(root)
    return root / "results" / f"{name}.json"


def _plain(value: Any) -> Any:
    """JSON's default hook: dataclasses (such as ``History``) become dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(
        f"cannot save a {type(value).__name__} in a result summary: use numbers, "
        "strings, lists, dicts or dataclasses of them"
    )


def save_result(name: str, *, root: str | Path | None = None, **fields: Any) -> Path:
    """Save ``fields`` as the JSON summary ``name``, replacing any older one.

    The file is written whole or not at all (a temporary file in the same
    folder, then a rename), so a reader never sees half a summary.

    Args:
        name: The summary's name, e.g. ``"cnn1d"``.
        root: The data root; :func:`book_src.data.default_root` if ``None``.
        **fields: JSON values, or dataclasses of them (saved as dicts).

    Returns:
        The path written.

    Raises:
        TypeError: A field cannot be written as JSON.
        ValueError: A field is NaN or infinite, or the name is not plain.
    """
    path = result_path(name, root)
    # Serialise first: a field that cannot be saved leaves no file behind.
    text = json.dumps(fields, default=_plain, allow_nan=False, indent=2) + "\n"
    write_atomic(path, text.encode("utf-8"))
    return path


def load_result(name: str, root: str | Path | None = None) -> dict[str, Any]:
    """Read back the summary saved under ``name``.

    Args:
        name: The summary's name, e.g. ``"cnn1d"``.
        root: The data root; :func:`book_src.data.default_root` if ``None``.

    Returns:
        The saved fields (dataclasses come back as dicts).

    Raises:
        FileNotFoundError: No summary of that name was saved; the message says
            where it was looked for.
    """
    path = result_path(name, root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no saved result {name!r}: {path} does not exist (the chapter that "
            "computes it saves it there when it runs)"
        ) from None
    return json.loads(text)
