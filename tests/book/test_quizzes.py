"""Self-check quizzes: one versioned file per chapter, one cell shows it, keys checked.

The format and the rules are in ``chapters/quizzes/README.md``. In short: each chapter
notebook of the table of contents has one quiz file ``chapters/quizzes/<notebook>.json``
(jupyterquiz's JSON, 3 to 5 questions, multiple choice or numeric) and one code cell,
tagged ``nbval-ignore-output``, that displays it. A numeric question's ``"check"`` is a
Python expression evaluated here, with the course's functions in scope, and its value
must be the answer marked correct: a wrong answer key fails this test.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from book_src import layers, models, pooling

from book_helpers import toc_docnames
from helpers import ROOT

QUIZZES = ROOT / "chapters" / "quizzes"
MIN_QUESTIONS, MAX_QUESTIONS = 3, 5
QUIZ_TAG = "nbval-ignore-output"
#: Tags the quiz cell may carry besides ``QUIZ_TAG``.
OPTIONAL_TAGS = frozenset({"hide-input"})
QUESTION_KEYS = {
    "multiple_choice": {"question", "type", "answers", "code", "answer_cols"},
    "numeric": {"question", "type", "answers", "check", "precision", "code"},
}
MC_ANSWER_KEYS = {"answer", "correct", "feedback", "code"}
NUMERIC_ANSWER_KEYS = {"type", "value", "range", "correct", "feedback"}
#: What a ``"check"`` expression sees: math, torch, and the course's public names.
CHECK_NAMESPACE: dict[str, Any] = {
    "math": math,
    "torch": torch,
    "nn": nn,
    "F": F,
    **{name: getattr(layers, name) for name in layers.__all__},
    **{name: getattr(pooling, name) for name in pooling.__all__},
    **{name: getattr(models, name) for name in models.__all__},
}
#: Markup that jupyterquiz would turn into math or HTML (see the README).
MARKUP = re.compile(r"\$|<[a-zA-Z/]")


def chapter_notebooks() -> list[Path]:
    """Return the notebooks of the table of contents, in reading order."""
    paths = [ROOT / f"{name}.ipynb" for name in toc_docnames()]
    return [path for path in paths if path.is_file()]


def quiz_files() -> list[Path]:
    """Return every quiz file of ``chapters/quizzes``."""
    return sorted(QUIZZES.glob("*.json"))


def evaluate_check(expression: str) -> Any:
    """Evaluate a question's ``"check"`` with the course's names in scope."""
    return eval(expression, dict(CHECK_NAMESPACE))  # the repository's own files


def same_number(value: Any, expected: Any, precision: int | None) -> bool:
    """Whether a keyed ``value`` is the checked ``expected``, as jupyterquiz compares.

    With a ``precision``, both are rounded to that many significant digits (as the
    quiz does with ``toPrecision``); without one, both must be the same integer.
    """
    if isinstance(expected, torch.Tensor):
        expected = expected.item()
    if isinstance(value, bool) or isinstance(expected, bool):
        return False
    if precision:
        return float(f"{float(value):.{precision}g}") == float(
            f"{float(expected):.{precision}g}"
        )
    return (
        isinstance(value, int)
        and float(expected).is_integer()
        and value == int(expected)
    )


def _text_problems(
    where: str, item: dict[str, Any], keys: tuple[str, ...]
) -> list[str]:
    problems = []
    for key in keys:
        text = item.get(key)
        if text is not None and not isinstance(text, str):
            problems.append(f"{where}: {key!r} must be a string")
        elif text and MARKUP.search(text):
            problems.append(f"{where}: {key!r} has $ or HTML, write plain text: {text}")
    return problems


def multiple_choice_problems(where: str, question: dict[str, Any]) -> list[str]:
    """Problems of one multiple-choice question (empty when it is right)."""
    answers = question.get("answers")
    if not isinstance(answers, list) or len(answers) < 2:
        return [f"{where}: needs a list of at least two answers"]
    problems = []
    for i, answer in enumerate(answers):
        at = f"{where}, answer {i + 1}"
        if not isinstance(answer, dict):
            problems.append(f"{at}: must be an object")
            continue
        if unknown := set(answer) - MC_ANSWER_KEYS:
            problems.append(f"{at}: unknown keys {sorted(unknown)}")
        if not isinstance(answer.get("answer"), str) or not answer["answer"].strip():
            problems.append(f"{at}: needs an 'answer' text")
        if not isinstance(answer.get("correct"), bool):
            problems.append(f"{at}: 'correct' must be true or false")
        if not answer.get("feedback"):
            problems.append(f"{at}: needs a 'feedback'")
        problems += _text_problems(at, answer, ("answer", "feedback"))
    correct = [a for a in answers if isinstance(a, dict) and a.get("correct") is True]
    if len(correct) != 1:
        problems.append(
            f"{where}: exactly one answer must be correct, {len(correct)} are"
        )
    return problems


def numeric_problems(where: str, question: dict[str, Any]) -> list[str]:
    """Problems of one numeric question, its answer key checked by its ``"check"``."""
    answers = question.get("answers")
    if not isinstance(answers, list) or not answers:
        return [f"{where}: needs a list of answers"]
    problems = []
    for i, answer in enumerate(answers):
        at = f"{where}, answer {i + 1}"
        if not isinstance(answer, dict):
            problems.append(f"{at}: must be an object")
            continue
        if unknown := set(answer) - NUMERIC_ANSWER_KEYS:
            problems.append(f"{at}: unknown keys {sorted(unknown)}")
        if answer.get("type") not in ("value", "range", "default"):
            problems.append(f"{at}: 'type' must be 'value', 'range' or 'default'")
        problems += _text_problems(at, answer, ("feedback",))
    values = [a for a in answers if isinstance(a, dict) and a.get("type") == "value"]
    keyed = [a for a in values if a.get("correct") is True]
    if len(keyed) != 1:
        problems.append(
            f"{where}: exactly one 'value' answer must be correct, {len(keyed)} are"
        )
    if not any(isinstance(a, dict) and a.get("type") == "default" for a in answers):
        problems.append(f"{where}: add a {{'type': 'default', 'feedback': ...}} answer")
    check = question.get("check")
    if not isinstance(check, str) or not check.strip():
        return [*problems, f"{where}: a numeric question needs a 'check' expression"]
    try:
        expected = evaluate_check(check)
    except Exception as error:  # report, then go on with the other questions
        return [*problems, f"{where}: check {check!r} raised {error!r}"]
    precision = question.get("precision")
    for answer in keyed:
        if not same_number(answer.get("value"), expected, precision):
            problems.append(
                f"{where}: the correct answer is keyed {answer.get('value')!r} but "
                f"check {check!r} gives {expected!r}"
            )
    for answer in values:
        if answer.get("correct") is not True and same_number(
            answer.get("value"), expected, precision
        ):
            problems.append(
                f"{where}: {answer.get('value')!r} is marked wrong but check "
                f"{check!r} gives it"
            )
    return problems


def quiz_problems(questions: Any) -> list[str]:
    """Every way in which a quiz (the parsed JSON file) breaks the rules."""
    if not isinstance(questions, list):
        return ["the file must hold a JSON list of questions"]
    problems = []
    if not MIN_QUESTIONS <= len(questions) <= MAX_QUESTIONS:
        problems.append(
            f"{len(questions)} questions, expected {MIN_QUESTIONS} to {MAX_QUESTIONS}"
        )
    for number, question in enumerate(questions, start=1):
        where = f"question {number}"
        if not isinstance(question, dict):
            problems.append(f"{where}: must be an object")
            continue
        kind = question.get("type")
        if kind not in QUESTION_KEYS:
            problems.append(
                f"{where}: type {kind!r}, expected one of {sorted(QUESTION_KEYS)}"
            )
            continue
        if unknown := set(question) - QUESTION_KEYS[kind]:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        if not isinstance(question.get("question"), str) or not question["question"]:
            problems.append(f"{where}: needs a 'question' text")
        problems += _text_problems(where, question, ("question",))
        if kind == "numeric":
            problems += numeric_problems(where, question)
        else:
            problems += multiple_choice_problems(where, question)
    return problems


def quiz_cells(notebook: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The code cells of a notebook that call ``display_quiz``, with their index."""
    return [
        (index, cell)
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and "display_quiz(" in "".join(cell["source"])
    ]


def shown_questions(cell: dict[str, Any]) -> Any:
    """The questions that a quiz cell's committed output shows (parsed JSON).

    jupyterquiz writes the file's text into its script as ``var questions<id>=...;``.
    """
    for output in cell.get("outputs", []):
        script = output.get("data", {}).get("application/javascript")
        if script is None:
            continue
        script = "".join(script) if isinstance(script, list) else script
        match = re.match(
            r"var questions\w+=(.*?);\s*if \(typeof Question", script, re.DOTALL
        )
        if match:
            return json.loads(match.group(1))
    return None


def normalized(source: str) -> list[str]:
    """A cell's source as its non-empty lines, stripped."""
    return [line.strip() for line in source.splitlines() if line.strip()]


# ---------------------------------------------------------------- the repository


@pytest.mark.parametrize("path", quiz_files(), ids=lambda path: path.name)
def test_quiz_file_follows_the_rules(path: Path) -> None:
    questions = json.loads(path.read_text(encoding="utf-8"))
    problems = quiz_problems(questions)
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_every_quiz_file_belongs_to_a_chapter() -> None:
    chapters = {path.stem for path in chapter_notebooks()}
    orphans = [path.name for path in quiz_files() if path.stem not in chapters]
    assert not orphans, (
        f"quiz files without a chapter notebook of the same name in _toc.yml: {orphans}"
    )


@pytest.mark.parametrize("notebook_path", chapter_notebooks(), ids=lambda p: p.stem)
def test_chapter_shows_its_quiz_once(notebook_path: Path) -> None:
    name = notebook_path.stem
    quiz = QUIZZES / f"{name}.json"
    assert quiz.is_file(), f"{name}: no quiz file chapters/quizzes/{name}.json"
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    cells = quiz_cells(notebook)
    assert len(cells) == 1, f"{name}: {len(cells)} quiz cells, expected exactly one"
    index, cell = cells[0]

    expected = [
        "from jupyterquiz import display_quiz",
        f'display_quiz("quizzes/{name}.json")',
    ]
    assert normalized("".join(cell["source"])) == expected, (
        f"{name}: the quiz cell must be exactly:\n" + "\n\n".join(expected)
    )
    tags = set(cell.get("metadata", {}).get("tags", []))
    assert QUIZ_TAG in tags, f"{name}: tag the quiz cell {QUIZ_TAG!r}"
    assert tags <= {QUIZ_TAG} | OPTIONAL_TAGS, (
        f"{name}: the quiz cell may carry only {QUIZ_TAG!r} and "
        f"{sorted(OPTIONAL_TAGS)}, it has {sorted(tags)}"
    )

    headings = [
        i
        for i, c in enumerate(notebook["cells"])
        if c["cell_type"] == "markdown"
        and any(
            line.strip() == "## Exercises" for line in "".join(c["source"]).split("\n")
        )
    ]
    if headings:
        assert index < headings[0], f"{name}: the quiz cell goes before '## Exercises'"

    shown = shown_questions(cell)
    assert shown is not None, (
        f"{name}: the quiz cell has no jupyterquiz output: run "
        f"`make notebooks CHAPTERS={notebook_path.relative_to(ROOT)}`"
    )
    assert shown == json.loads(quiz.read_text(encoding="utf-8")), (
        f"{name}: the quiz cell's output shows other questions than {quiz.name}: "
        f"re-run `make notebooks CHAPTERS={notebook_path.relative_to(ROOT)}`"
    )


# ------------------------------------------------------------ the test's own rules


def numeric_question(value: int, check: str, wrong: int = 49) -> dict[str, Any]:
    return {
        "question": "How long is the output?",
        "type": "numeric",
        "check": check,
        "answers": [
            {"type": "value", "value": value, "correct": True, "feedback": "Yes."},
            {"type": "value", "value": wrong, "correct": False, "feedback": "No."},
            {"type": "default", "feedback": "Count the windows."},
        ],
    }


def choice_question(*correct: bool) -> dict[str, Any]:
    return {
        "question": "What does padding do?",
        "type": "multiple_choice",
        "answers": [
            {"answer": f"Answer {i}", "correct": c, "feedback": "Because."}
            for i, c in enumerate(correct)
        ],
    }


GOOD_QUIZ = [
    numeric_question(50, "output_size(100, 3, stride=2, padding=1)"),
    numeric_question(160, "count_parameters(Conv1D(3, 16, kernel_size=3))", 144),
    choice_question(True, False, False),
]


def test_a_correct_quiz_has_no_problem() -> None:
    assert quiz_problems(GOOD_QUIZ) == []


def test_a_wrong_numeric_key_fails() -> None:
    # stride 2 halves 100: 51 is a plausible slip, and the check catches it
    quiz = [*GOOD_QUIZ[1:], numeric_question(51, "output_size(100, 3, 2, 1)")]
    problems = quiz_problems(quiz)
    assert len(problems) == 1
    assert "keyed 51" in problems[0] and "gives 50" in problems[0]


def test_a_wrong_answer_equal_to_the_check_fails() -> None:
    quiz = [*GOOD_QUIZ[1:], numeric_question(51, "output_size(100, 3, 2, 1)", 50)]
    assert any("50 is marked wrong" in p for p in quiz_problems(quiz))


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ({**numeric_question(50, "")}, "needs a 'check'"),
        (numeric_question(50, "output_size(100, 3, stride=2, padding=1) +"), "raised"),
        (numeric_question(50, "undefined_function(100)"), "raised"),
        (choice_question(True, True, False), "exactly one answer must be correct, 2"),
        (choice_question(False, False), "exactly one answer must be correct, 0"),
        (choice_question(True), "at least two answers"),
        ({**choice_question(True, False), "type": "string"}, "type 'string'"),
        ({**choice_question(True, False), "question": "Is $x$ 2?"}, "plain text"),
        ({**numeric_question(50, "50"), "hint": "?"}, "unknown keys ['hint']"),
    ],
)
def test_a_broken_question_fails(question: dict[str, Any], message: str) -> None:
    problems = quiz_problems([*GOOD_QUIZ[:2], question])
    assert any(message in p for p in problems), problems


def test_numbers_compare_as_the_quiz_does() -> None:
    assert same_number(50, 50, None)
    assert not same_number(50.0, 50, None)  # a float key needs a precision
    assert same_number(0.333, 1 / 3, 3)
    assert not same_number(0.334, 1 / 3, 3)
    assert same_number(392, torch.tensor(392), None)


def test_too_few_or_too_many_questions_fail() -> None:
    assert "2 questions" in quiz_problems(GOOD_QUIZ[:2])[0]
    assert "6 questions" in quiz_problems(GOOD_QUIZ * 2)[0]


def test_shown_questions_are_read_back_from_the_output() -> None:
    from jupyterquiz.dynamic.loader import load_questions_script

    path = QUIZZES / "01_conv1d_loop.json"
    script, _, _ = load_questions_script(str(path), "abcdefghijkl")
    cell = {"outputs": [{"data": {"application/javascript": script + "}"}}]}
    assert shown_questions(cell) == json.loads(path.read_text(encoding="utf-8"))
