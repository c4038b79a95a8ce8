"""The code the chapters show from ``book_src`` is public and documented.

A chapter shows course code with ``literalinclude`` and ``:pyobject:``. What it
shows must be something a reader can use and look up: no name component starting
with ``_`` (no ``_ConvNd.convolve``), an object that exists in the file, with a
docstring. Needs no built book.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from helpers import ROOT

INCLUDE = re.compile(
    r"```\{literalinclude\}\s+(?P<path>\S+)\n(?P<options>(?::[^\n]*\n)*)```"
)


def chapter_texts() -> dict[str, str]:
    """Every chapter's Markdown: the notebooks' markdown cells and the .md pages."""
    texts = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[path.name] = "\n".join(
            "".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"
        )
    for path in sorted((ROOT / "chapters").glob("*.md")):
        texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def excerpts(text: str) -> list[tuple[str, str]]:
    """``(file, object)`` of every ``literalinclude`` with a ``:pyobject:``."""
    found = []
    for match in INCLUDE.finditer(text):
        target = re.search(r"^:pyobject:\s*(\S+)", match["options"], re.M)
        if target:
            found.append((match["path"], target[1]))
        else:
            found.append((match["path"], ""))
    return found


def private(name: str) -> bool:
    """Whether a dotted name has a component that starts with ``_``."""
    return any(part.startswith("_") for part in name.split("."))


def definition(path: Path, name: str) -> ast.AST | None:
    """The class or function ``name`` (``Class.method`` for a method) in ``path``."""
    scope: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    node = None
    for part in name.split("."):
        node = next(
            (
                n
                for n in scope
                if isinstance(n, ast.ClassDef | ast.FunctionDef) and n.name == part
            ),
            None,
        )
        if node is None:
            return None
        scope = node.body
    return node


def problems(text: str, folder: Path) -> list[str]:
    """What is wrong with the excerpts of one chapter's text (empty: nothing)."""
    found = []
    for relative, name in excerpts(text):
        path = (folder / relative).resolve()
        if not name:
            found.append(f"{relative}: a whole file, not one object (:pyobject:)")
        elif private(name):
            found.append(f"{relative}: {name} is private")
        elif not path.is_file() or (node := definition(path, name)) is None:
            found.append(f"{relative}: no {name} in it")
        elif not ast.get_docstring(node):
            found.append(f"{relative}: {name} has no docstring")
    return found


PLANTED = """Some prose.

```{literalinclude} ../book_src/layers.py
:language: python
:pyobject: %s
:dedent:
```
"""


@pytest.mark.parametrize("name", sorted(chapter_texts()))
def test_chapters_show_public_documented_code(name: str) -> None:
    assert problems(chapter_texts()[name], ROOT / "chapters") == []


def test_the_chapters_show_course_code() -> None:
    shown = [e for text in chapter_texts().values() for e in excerpts(text)]
    assert len(shown) >= 15
    assert ("../book_src/layers.py", "ConvNd.convolve") in shown


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("_ConvNd.convolve", "_ConvNd.convolve is private"),
        ("ConvNd._secret", "ConvNd._secret is private"),
        ("ConvNd.no_such_method", "no ConvNd.no_such_method in it"),
    ],
)
def test_a_planted_private_or_missing_name_is_caught(target: str, problem: str) -> None:
    text = PLANTED % target
    assert excerpts(text) == [("../book_src/layers.py", target)]
    assert problems(text, ROOT / "chapters") == [f"../book_src/layers.py: {problem}"]
    assert problems(PLANTED % "ConvNd.convolve", ROOT / "chapters") == []
