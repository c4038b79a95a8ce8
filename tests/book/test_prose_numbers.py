"""Every number the prose quotes with a unit is one the chapter's outputs show.

A chapter's sentences are claims. When one quotes a measured number (an accuracy,
a time, a ratio, a size, a parameter count), that number must appear in the
committed outputs of the same notebook, so that re-executing a chapter on another
machine without updating its prose fails here instead of leaving the reader with
a sentence that contradicts the output beside it.

Rules:
- A quoted number is a number followed by a unit: ``%``, a time (``µs``, ``ms``,
  ``s``, ``seconds``, ``minutes``), a ratio (``x``, ``×`` not followed by another
  number, ``times``), a size (``B``, ``kB``, ``MB``, ``GB``, ``bytes``) or
  ``parameters``. Inline code, code blocks and math are not prose.
- It matches an output number of the same value, rounded to the prose's number of
  decimals, that carries the same kind of unit or no unit at all (table cells).
- The original course's figures pass in a sentence that says they are the
  original's (contains "original").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import ROOT

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

# Figures of the original course, quoted as such (see ../shared/seed).
ORIGINAL_FIGURES = {96.35, 98.23}

UNITS = {
    "percent": r"%|per ?cent",
    "time": r"µs|us|ms|s|sec|seconds?|min|minutes?|h|hours?",
    "ratio": r"x(?![\w])|×(?!\s*\d)|times",
    "size": r"B|kB|KB|KiB|MB|MiB|GB|GiB|bytes",
    "count": r"parameters|weights",
}
NUMBER = r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
QUOTED = re.compile(
    NUMBER
    + r"\s?(?:"
    + "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in UNITS.items())
    + r")(?![\w])"
)
OUTPUT_NUMBER = re.compile(
    NUMBER
    + r"(?:\s?(?:"
    + "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in UNITS.items())
    + r")(?![\w]))?"
)
NOT_PROSE = re.compile(
    r"```.*?```|~~~.*?~~~|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|\\begin\{.*?\\end\{[^}]*\}",
    re.S,
)


@dataclass(frozen=True)
class Quote:
    value: float
    decimals: int
    kind: str
    text: str
    sentence: str


def _kind(match: re.Match[str]) -> str | None:
    return next((k for k in UNITS if match.group(k)), None)


def _value(text: str) -> tuple[float, int]:
    digits = text.replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return float(digits), decimals


def prose(notebook: dict) -> str:
    """The markdown cells, without code, math and HTML comments."""
    cells = [
        "".join(cell["source"])
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown"
    ]
    text = "\n\n".join(cells)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    return NOT_PROSE.sub(" ", text)


def quotes(text: str) -> list[Quote]:
    found = []
    for sentence in re.split(r"(?<=[.!?:;])\s+|\n\s*\n", text):
        for match in QUOTED.finditer(sentence):
            value, decimals = _value(match.group(1))
            kind = _kind(match)
            assert kind is not None
            found.append(Quote(value, decimals, kind, match.group(0), sentence))
    return found


# What an HTML output holds besides text: scripts, styles, embedded images (the
# frames of an animation) and tags. None of it can back a number in the prose.
NOT_TEXT = re.compile(
    r"<script.*?</script>|<style.*?</style>|data:[\w/+.-]+;base64,[\w+/=]+|<[^>]*>",
    re.S,
)


def output_text(notebook: dict) -> str:
    parts = []
    for cell in notebook["cells"]:
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                parts.append("".join(out["text"]))
            data = out.get("data", {})
            for mime in ("text/plain", "text/markdown"):
                if mime in data:
                    parts.append("".join(data[mime]))
            if "text/html" in data:
                parts.append(NOT_TEXT.sub(" ", "".join(data["text/html"])))
    return "\n".join(parts)


def output_numbers(text: str) -> list[tuple[float, str | None]]:
    return [(_value(m.group(1))[0], _kind(m)) for m in OUTPUT_NUMBER.finditer(text)]


def unbacked(notebook: dict) -> list[Quote]:
    """The quoted numbers that no output of the notebook shows."""
    numbers = output_numbers(output_text(notebook))
    missing = []
    for quote in quotes(prose(notebook)):
        if quote.value in ORIGINAL_FIGURES and "original" in quote.sentence.lower():
            continue
        if not any(
            round(value, quote.decimals) == quote.value and kind in (None, quote.kind)
            for value, kind in numbers
        ):
            missing.append(quote)
    return missing


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_prose_numbers_are_in_the_outputs(path: Path) -> None:
    missing = unbacked(load(path))
    assert not missing, f"{path.name}: numbers in the prose that no output shows:\n" + (
        "\n".join(f"  {q.text!r} in: {q.sentence.strip()[:200]}" for q in missing)
    )


def _notebook(markdown: str, output: str) -> dict:
    return {
        "cells": [
            {"cell_type": "markdown", "source": [markdown]},
            {
                "cell_type": "code",
                "source": [],
                "outputs": [{"output_type": "stream", "text": [output]}],
            },
        ]
    }


def test_a_planted_contradiction_fails() -> None:
    output = "test accuracy 96.42 %\n3.1 s per epoch\nloop / torch.nn: 12.3x\n"
    honest = "It reaches 96.42 % in about 3 s per epoch, 12.3x slower than torch.nn."
    assert unbacked(_notebook(honest, output)) == []
    planted = honest.replace("96.42 %", "97.50 %").replace("12.3x", "30x")
    assert [q.text for q in unbacked(_notebook(planted, output))] == ["97.50 %", "30x"]


def test_what_is_a_quoted_number() -> None:
    text = (
        "A 28 × 28 image, 33,370 parameters, a 17 MB matrix, 2.5 times faster, "
        "`1.5 s` in code, $10 %$ in math, and 5 epochs."
    )
    assert [q.text for q in quotes(NOT_PROSE.sub(" ", text))] == [
        "33,370 parameters",
        "17 MB",
        "2.5 times",
    ]


def test_an_embedded_image_or_script_backs_nothing() -> None:
    notebook = _notebook("It takes 12 ms.", "")
    notebook["cells"][1]["outputs"] = [
        {
            "output_type": "display_data",
            "data": {
                "text/html": [
                    '<img src="data:image/png;base64,AAA12msBBB=">'
                    "<script>var t = '12 ms';</script><p>frame 3</p>"
                ]
            },
        }
    ]
    assert [q.text for q in unbacked(notebook)] == ["12 ms"]


def test_the_original_figures_pass_only_as_the_originals() -> None:
    output = "test accuracy 96.42 %\n"
    said = "The original course reached 96.35 % with the same network."
    assert unbacked(_notebook(said, output)) == []
    claimed = "Ours reaches 96.35 % with the same network."
    assert [q.text for q in unbacked(_notebook(claimed, output))] == ["96.35 %"]


# ---------------------------------------------------------- the French edition
#
# A French notebook (fr/chapters, made by `make i18n`) has the English outputs and
# French prose, which writes numbers the French way: a decimal comma (96,40 %), a
# no-break space (U+00A0, or U+202F) between a number and its unit and between
# groups of thousands (33 370 paramètres), and before : ; ! ? and %. The same
# rule holds: every number quoted with a unit is one the outputs show.

FR_CHAPTERS = sorted((ROOT / "fr" / "chapters").glob("*.ipynb"))
#: Pages whose translation is not written yet (locales/fr/PENDING): their prose is
#: English, checked above.
FR_PENDING = {
    line.split("#", 1)[0].strip()
    for line in (ROOT / "locales" / "fr" / "PENDING").read_text().splitlines()
} - {""}
NO_BREAK = "\u00a0\u202f"
FR_UNITS = {
    "percent": r"%|pour ?cent",
    "time": r"µs|us|ms|s|min|minutes?|h|heures?|secondes?",
    "ratio": r"x(?![\w])|×(?!\s*\d)|fois",
    "size": r"o|ko|Ko|Mo|Go|Kio|Mio|Gio|octets|B|kB|MB|GB",
    "count": r"paramètres|poids",
}
_FR_UNIT = "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in FR_UNITS.items())
FR_NUMBER = rf"(?<![\w.,{NO_BREAK}])(\d{{1,3}}(?:[{NO_BREAK}]\d{{3}})+|\d+(?:,\d+)?)"
FR_QUOTED = re.compile(FR_NUMBER + rf"[{NO_BREAK}]?(?:{_FR_UNIT})(?![\w])")
#: French typography that the prose must follow, with what is wrong.
FR_TYPOGRAPHY = [
    (re.compile(rf"\d\.\d+\s?(?:{_FR_UNIT})(?![\w])"), "decimal point: write 96,40"),
    (
        re.compile(rf"\d (?:{_FR_UNIT})(?![\w])"),
        "plain space before a unit: a no-break space (U+00A0)",
    ),
    (re.compile(r"(?<=\S) [:;!?%»]"), "plain space before : ; ! ? % or »: U+00A0"),
    (re.compile(r"« "), "plain space after «: U+00A0"),
]


def _fr_value(text: str) -> tuple[float, int]:
    digits = re.sub(f"[{NO_BREAK}]", "", text)
    decimals = len(digits.split(",")[1]) if "," in digits else 0
    return float(digits.replace(",", ".")), decimals


def fr_quotes(text: str) -> list[Quote]:
    found = []
    for sentence in re.split(r"(?<=[.!?:;])\s+|\n\s*\n", text):
        for match in FR_QUOTED.finditer(sentence):
            value, decimals = _fr_value(match.group(1))
            kind = next(k for k in FR_UNITS if match.group(k))
            found.append(Quote(value, decimals, kind, match.group(0), sentence))
    return found


def fr_unbacked(notebook: dict) -> list[Quote]:
    """The numbers of the French prose that no output of the notebook shows."""
    numbers = output_numbers(output_text(notebook))
    missing = []
    for quote in fr_quotes(prose(notebook)):
        if quote.value in ORIGINAL_FIGURES and re.search(
            r"origin", quote.sentence, re.IGNORECASE
        ):
            continue
        if not any(
            round(value, quote.decimals) == quote.value and kind in (None, quote.kind)
            for value, kind in numbers
        ):
            missing.append(quote)
    return missing


def fr_typography(text: str) -> list[str]:
    """What breaks French typography in the prose (code and math left out)."""
    return [
        f"{why}: {text[max(0, m.start() - 30) : m.end() + 10]!r}"
        for pattern, why in FR_TYPOGRAPHY
        for m in pattern.finditer(text)
    ]


def _french(path: Path):
    docname = f"chapters/{path.stem}"
    marks = [pytest.mark.skip(reason="translation pending")] * (docname in FR_PENDING)
    return pytest.param(path, marks=marks, id=path.stem)


@pytest.mark.parametrize("path", [_french(p) for p in FR_CHAPTERS])
def test_french_prose_numbers_are_in_the_outputs(path: Path) -> None:
    notebook = load(path)
    missing = fr_unbacked(notebook)
    assert not missing, f"fr/{path.name}: numbers no output shows:\n" + "\n".join(
        f"  {q.text!r} in: {q.sentence.strip()[:200]}" for q in missing
    )
    problems = fr_typography(prose(notebook))
    assert not problems, f"fr/{path.name}: French typography:\n  " + "\n  ".join(
        problems
    )


def test_french_numbers_are_read_the_french_way() -> None:
    output = "test accuracy 96.42 %\n3.1 s per epoch\n33,370 parameters\n"
    said = (
        "Il atteint 96,42\u00a0% en 3,1\u00a0s par époque, avec "
        "33\u00a0370\u00a0paramètres. Le cours original atteignait 96,35\u00a0%."
    )
    assert fr_unbacked(_notebook(said, output)) == []
    planted = said.replace("96,42", "97,50").replace("33\u00a0370", "33\u00a0371")
    assert [q.text for q in fr_unbacked(_notebook(planted, output))] == [
        "97,50\u00a0%",
        "33\u00a0371\u00a0paramètres",
    ]
    assert fr_typography(said) == []
    wrong = fr_typography("Il atteint 96.42 % : en 3 s « vite ».")
    assert {problem.split(":")[0] for problem in wrong} == {
        why.split(":")[0] for _, why in FR_TYPOGRAPHY
    }, wrong
    assert len(wrong) == 7, wrong
