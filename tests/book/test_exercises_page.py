"""Exercises: the chapters' exercise cells, and the page that lists them all.

The cell layout is in ``chapters/quizzes/README.md``: at the end of each chapter, under
``## Exercises``, at least four sphinx-exercise ``exercise`` directives, each followed
by a solution gated between ``solution-start`` (``:class: dropdown``) and
``solution-end``, each gate alone in its markdown cell. ``chapters/exercises.md`` holds
the ``{exercise-list}`` directive of ``tools/exercise_list.py``, which lists every
exercise with a link; the tests build a small book with it, and check the real page
(once ``make book`` has built it) against the exercises found in the chapters.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sphinx.cmd.build import build_main

from book_helpers import load_config, toc_docnames
from helpers import ROOT

MIN_EXERCISES = 4
EXERCISES_PAGE = ROOT / "_build" / "html" / "chapters" / "exercises.html"
#: A directive fence: its opening line, and the option lines right after it.
FENCE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>exercise|exercise-start|exercise-end|"
    r"solution|solution-start|solution-end)\}(?P<argument>.*)\n"
    r"(?P<options>(?::[\w-]+:.*\n)*)",
    re.MULTILINE,
)


@dataclass
class Directive:
    name: str
    argument: str
    options: dict[str, str]
    cell: int
    alone: bool  # the only thing in its markdown cell


@dataclass
class ChapterExercises:
    directives: list[Directive] = field(default_factory=list)
    heading: int | None = None  # index of the "## Exercises" cell


def read_directives(notebook: dict[str, Any]) -> ChapterExercises:
    """The sphinx-exercise directives of a notebook's markdown cells, in order."""
    found = ChapterExercises()
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        if found.heading is None and re.search(r"^## Exercises\s*$", source, re.M):
            found.heading = index
        matches = list(FENCE.finditer(source + "\n"))
        for match in matches:
            options = dict(
                re.findall(r"^:([\w-]+):\s*(.*)$", match.group("options"), re.M)
            )
            closing = re.compile(rf"^{re.escape(match.group('fence'))}\s*$", re.M)
            rest = closing.sub("", source[match.end() :], count=1)
            found.directives.append(
                Directive(
                    match.group("name"),
                    match.group("argument").strip(),
                    {key: value.strip() for key, value in options.items()},
                    index,
                    alone=len(matches) == 1
                    and not source[: match.start()].strip()
                    and not rest.strip(),
                )
            )
    return found


def chapter_exercise_problems(name: str, found: ChapterExercises) -> list[str]:
    """Every way a chapter's exercises break the layout of the README."""
    exercises = [
        d for d in found.directives if d.name in ("exercise", "exercise-start")
    ]
    problems = []
    if len(exercises) < MIN_EXERCISES:
        problems.append(f"{len(exercises)} exercises, expected {MIN_EXERCISES} or more")
    if exercises and (found.heading is None or exercises[0].cell < found.heading):
        problems.append("exercises go under a heading '## Exercises'")
    prefix = "ex-" + re.sub(r"^\d+_", "", name).replace("_", "-") + "-"
    labels = set()
    for exercise in exercises:
        label = exercise.options.get("label", "")
        if not label.startswith(prefix):
            problems.append(f"exercise label {label!r} must start with {prefix!r}")
        if label in labels:
            problems.append(f"label {label!r} used twice")
        labels.add(label)
        if "`" in exercise.argument:
            problems.append(
                f"{label}: no backtick in the title {exercise.argument!r}: "
                "it ends the fence's info string"
            )
    # Each exercise is followed by exactly one gated solution, before the next one.
    sequence = [d for d in found.directives if d.name != "exercise-end"]
    for i, exercise in enumerate(sequence):
        if exercise.name not in ("exercise", "exercise-start"):
            continue
        label = exercise.options.get("label", "")
        following = sequence[i + 1 : i + 3]
        names = [d.name for d in following]
        if names != ["solution-start", "solution-end"]:
            problems.append(
                f"{label}: expected solution-start then solution-end after it, "
                f"found {names}"
            )
            continue
        start = following[0]
        if start.argument != label:
            problems.append(f"{label}: its solution-start names {start.argument!r}")
        if start.options.get("class") != "dropdown":
            problems.append(f"{label}: solution-start needs ':class: dropdown'")
        for gate in following:
            if not gate.alone:
                problems.append(f"{label}: {gate.name} must be alone in its cell")
    if any(d.name == "solution" for d in found.directives):
        problems.append("use gated solution-start/solution-end, not {solution}")
    return problems


def chapter_notebooks() -> list[Path]:
    paths = [ROOT / f"{name}.ipynb" for name in toc_docnames()]
    return [path for path in paths if path.is_file()]


def read_notebook(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------- chapters


@pytest.mark.parametrize("path", chapter_notebooks(), ids=lambda path: path.stem)
def test_chapter_ends_with_exercises_and_gated_solutions(path: Path) -> None:
    problems = chapter_exercise_problems(
        path.stem, read_directives(read_notebook(path))
    )
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_solutions_are_never_hidden_by_configuration() -> None:
    # sphinx-exercise 1.2.1 crashes on gated solutions with hide_solutions: true
    config = load_config()
    assert "hide_solutions" not in config.get("sphinx", {}).get("config", {})


def test_exercises_page_is_in_the_table_of_contents() -> None:
    assert "chapters/exercises" in toc_docnames()
    assert "{exercise-list}" in (ROOT / "chapters" / "exercises.md").read_text()
    assert load_config()["sphinx"]["local_extensions"]["exercise_list"] == "tools"


def test_the_layout_rules_catch_mistakes() -> None:
    def notebook(*sources: str) -> dict[str, Any]:
        return {"cells": [{"cell_type": "markdown", "source": s} for s in sources]}

    def exercise(label: str, title: str = "Predict a length") -> list[str]:
        return [
            f"```{{exercise}} {title}\n:label: {label}\n\nHow long?\n```",
            f"```{{solution-start}} {label}\n:class: dropdown\n```",
            "Count the windows.",
            "```{solution-end}\n```",
        ]

    labels = [f"ex-conv1d-loop-{n}" for n in ("a", "b", "c", "d")]
    good = ["## Exercises", *(cell for label in labels for cell in exercise(label))]
    found = read_directives(notebook(*good))
    assert chapter_exercise_problems("01_conv1d_loop", found) == []

    def problems(cells: list[str]) -> str:
        found = read_directives(notebook(*cells))
        return "\n".join(chapter_exercise_problems("01_conv1d_loop", found))

    assert "3 exercises" in problems(good[:-4])
    assert "'## Exercises'" in problems(good[1:])
    assert "must start with 'ex-conv1d-loop-'" in problems(
        [*good, *exercise("ex-pooling-e")]
    )
    assert "no backtick" in problems([*good, *exercise("ex-conv1d-loop-e", "`x`")])
    undropped = [c.replace(":class: dropdown\n", "") for c in good]
    assert "needs ':class: dropdown'" in problems(undropped)
    glued = [*good[:-2], good[-2] + "\n\n" + good[-1]]
    assert "solution-end must be alone" in problems(glued)
    assert "expected solution-start then solution-end" in problems(good[:-3])


# --------------------------------------------------------------- the list page


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_exercise_list_links_every_exercise(tmp_path: Path) -> None:
    """A small Sphinx project: two numbered chapters and a page with the list."""
    source, out = tmp_path / "source", tmp_path / "html"
    write(
        source / "conf.py",
        f"""
        import sys
        sys.path.insert(0, {str(ROOT / "tools")!r})
        extensions = ["myst_parser", "sphinx_exercise", "exercise_list"]
        numfig = True
        """,
    )
    write(
        source / "index.md",
        """
        # Book

        ```{toctree}
        :numbered:
        one
        two
        ```

        ```{toctree}
        list
        ```
        """,
    )
    write(
        source / "one.md",
        """
        # Loops

        ```{exercise} Predict a length
        :label: ex-one-length
        Text.
        ```

        ```{exercise} Write a layer
        :label: ex-one-layer
        Text.
        ```
        """,
    )
    write(
        source / "two.md",
        """
        # Pooling

        ```{exercise}
        :label: ex-two-untitled
        Text.
        ```

        ```{exercise} Hidden
        :label: ex-two-hidden
        :hidden:
        Text.
        ```
        """,
    )
    write(source / "list.md", "# Exercises\n\n```{exercise-list}\n```\n")
    assert build_main(["-q", "-W", "-n", "-b", "html", str(source), str(out)]) == 0
    page = (out / "list.html").read_text(encoding="utf-8")
    page = page[page.index("<h1>Exercises") : page.index("</section>")]  # no sidebar
    links = re.findall(
        r'<a class="reference internal" href="([^"]+)">([^<]+)</a>', page
    )
    assert links == [
        ("one.html", "1. Loops"),
        ("one.html#ex-one-length", "Exercise 1.1: Predict a length"),
        ("one.html#ex-one-layer", "Exercise 1.2: Write a layer"),
        ("two.html", "2. Pooling"),
        ("two.html#ex-two-untitled", "Exercise 2.1"),
    ]
    for target in ("ex-one-length", "ex-one-layer", "ex-two-untitled"):
        html = (out / f"{target.split('-')[1]}.html").read_text(encoding="utf-8")
        assert f'id="{target}"' in html

    # A new exercise appears on the next, incremental, build.
    with (source / "two.md").open("a", encoding="utf-8") as file:
        file.write("\n```{exercise} Added\n:label: ex-two-added\nText.\n```\n")
    assert build_main(["-q", "-W", "-n", "-b", "html", str(source), str(out)]) == 0
    page = (out / "list.html").read_text(encoding="utf-8")
    assert 'href="two.html#ex-two-added">Exercise 2.2: Added</a>' in page


def test_built_page_lists_the_chapters_exercises() -> None:
    if not EXERCISES_PAGE.is_file():
        pytest.skip("the book is not built: run `make book`")
    page = EXERCISES_PAGE.read_text(encoding="utf-8")
    listed = re.findall(r'href="([\w.]+)\.html#(ex-[\w-]+)"', page)
    expected = []
    for path in chapter_notebooks():
        for directive in read_directives(read_notebook(path)).directives:
            if directive.name in ("exercise", "exercise-start"):
                expected.append((path.stem, directive.options.get("label", "")))
    assert listed == expected, "rebuild the book (`make book`) if a chapter changed"
