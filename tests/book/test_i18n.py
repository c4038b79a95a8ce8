"""The French edition is complete, up to date, and shows the English code and outputs.

``tools/i18n.py`` keeps one gettext catalog per page (``locales/fr/LC_MESSAGES``),
keyed by the English text, and generates the French book ``fr/`` from the English
sources and the catalogs. These tests check, without building anything:

* **drift**: every unit of prose of every page (paragraph, heading, list item,
  exercise title, figure caption and alt text, quiz text) has a translation that is
  neither missing, nor fuzzy, nor obsolete; a failure names the page and the
  paragraph. Pages listed in ``locales/fr/PENDING`` are not translated yet: for
  them the test is expected to fail (strict xfail), so that a page finished but
  left in the list fails too. A planted change to an English paragraph, on a copy
  of the book, fails and passes again once its translation is updated;
* the catalogs and ``fr/`` are what ``make i18n`` makes from the files committed;
* **byte for byte**: every code cell, output and metadata of a French notebook is
  the English one, but for the three exceptions of ``tools/i18n.py`` (the Colab
  cell's folder, the quiz's output rendered by jupyterquiz from the French quiz, the
  animation's alt text and labels), each checked to be exactly that;
* French typography in every translation, and the markdown cutter;
* and, on the built site (``make book``): every French page exists, declares
  ``lang="fr"``, links to its English page and back, offers the French notebook
  and Binder/Colab buttons that open it, is indexed with the French stemmer, and
  has no English sentence left.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import polib
import pytest

from tools import i18n
from tools.language_switch import counterpart, replace_labels

from book_helpers import english_left, is_english, toc_docnames
from helpers import ROOT

FR = ROOT / i18n.BOOK_DIR
SITE = ROOT / "_build" / "html"
FR_SITE = SITE / i18n.BOOK_DIR
PENDING = i18n.pending_pages(ROOT)
CATALOGS = i18n.catalog_names(ROOT)
CHAPTERS = [d for d in toc_docnames() if (ROOT / f"{d}.ipynb").is_file()]


def pending(name: str) -> Any:
    """``name`` as a parameter, marked as expected to fail if it is pending."""
    marks = []
    if name in PENDING:
        marks.append(
            pytest.mark.xfail(
                strict=True, reason="translation pending (locales/fr/PENDING)"
            )
        )
    return pytest.param(name, marks=marks, id=name)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------- drift


@pytest.mark.parametrize("name", [pending(name) for name in CATALOGS])
def test_every_unit_is_translated(name: str) -> None:
    """No missing, fuzzy or obsolete entry; the failure names page and paragraph."""
    report = i18n.report(ROOT, name)
    assert not report.problems, (
        f"{i18n.catalog_path(ROOT, name).relative_to(ROOT)}: "
        f"{len(report.problems)} entries to translate (edit the msgstr, remove "
        "`#, fuzzy`, then `make i18n`):\n  " + "\n  ".join(report.problems)
    )


def test_pending_pages_are_pages_of_the_book() -> None:
    assert PENDING <= set(toc_docnames()), PENDING - set(toc_docnames())


@pytest.mark.parametrize("name", CATALOGS)
def test_catalog_is_up_to_date(name: str) -> None:
    """The catalog is what ``make i18n`` makes from the English as it is now."""
    path = i18n.catalog_path(ROOT, name)
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run `make i18n`"
    source = i18n.page_file(ROOT, name) if name != i18n.BOOK_CATALOG else None
    updated = i18n.update_catalog(
        i18n.load_catalog(path),
        i18n.units_of(ROOT, name),
        source.relative_to(ROOT).as_posix()
        if source
        else "_config.yml, _toc.yml and the tools' labels",
    )
    assert str(updated).rstrip("\n") + "\n" == path.read_text(encoding="utf-8"), (
        f"{path.relative_to(ROOT)} is not up to date: run `make i18n`"
    )


def test_french_book_is_up_to_date(tmp_path: Path) -> None:
    """``fr/`` is exactly what ``make i18n`` generates (it is committed)."""
    i18n.generate(ROOT, tmp_path / i18n.BOOK_DIR)
    stale = i18n.differences(tmp_path / i18n.BOOK_DIR, FR)
    assert not stale, f"fr/ is not up to date, run `make i18n`: {stale}"


def copy_of_the_book(folder: Path) -> Path:
    """The files ``tools/i18n.py`` reads, copied into ``folder``."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, folder / name)
    for name in ("chapters", "locales", "_static"):
        shutil.copytree(ROOT / name, folder / name)
    return folder


def edit_catalog(path: Path, msgid: str, msgstr: str) -> None:
    """What a translator does: write the translation, remove the fuzzy flag."""
    po = polib.pofile(str(path))
    entry = po.find(msgid)
    assert entry is not None, msgid
    entry.msgstr = msgstr
    if "fuzzy" in entry.flags:
        entry.flags.remove("fuzzy")
    po.save(str(path))


def test_a_planted_change_to_an_english_paragraph_fails_until_translated(
    tmp_path: Path,
) -> None:
    root = copy_of_the_book(tmp_path)
    page = "chapters/05_conv3d_video"
    assert page not in PENDING
    assert i18n.report(root, page).problems == []

    # An English paragraph changes, as a rewrite of the chapter would change it.
    path = root / f"{page}.ipynb"
    notebook = load(path)
    cell = next(c for c in notebook["cells"] if c["id"] == "5e327489")
    old = i18n.cell_source(cell)
    new = old.replace("The loop now runs over three indices", "The loop runs on three")
    assert new != old
    cell["source"] = i18n.split_lines(new)
    path.write_text(i18n.dump_notebook(notebook), encoding="utf-8")

    # Before `make i18n`: the new paragraph is missing, the old entry obsolete.
    problems = i18n.report(root, page).problems
    assert len(problems) == 2, problems
    assert problems[0].startswith(
        "missing: chapters/05_conv3d_video.ipynb, cell 6 (id 5e327489), line 1: "
        "paragraph: 'The loop runs on three"
    ), problems
    assert problems[1].startswith("obsolete: 'The loop now runs"), problems

    # `make i18n`: the entry is fuzzy, its old translation kept for the translator,
    # and the French book shows the new English, not the outdated French.
    i18n.update(root)
    report = i18n.report(root, page)
    assert [p.split(": ")[0] for p in report.problems] == ["fuzzy"]
    (unit, previous) = report.fuzzy[0]
    assert previous == old.rstrip("\n") and unit.msgid == new.rstrip("\n")
    french = load(root / i18n.BOOK_DIR / f"{page}.ipynb")
    text = "".join(i18n.cell_source(c) for c in french["cells"])
    assert "The loop runs on three" in text
    assert "La boucle parcourt maintenant trois indices" not in text

    # The translator updates the translation: the catalog is complete again.
    catalog = i18n.catalog_path(root, page)
    edit_catalog(catalog, unit.msgid, "La boucle court sur trois indices : ...")
    i18n.update(root)
    assert i18n.report(root, page).problems == []
    french = load(root / i18n.BOOK_DIR / f"{page}.ipynb")
    text = "".join(i18n.cell_source(c) for c in french["cells"])
    assert "La boucle court sur trois indices\u00a0: ..." in text


def test_a_planted_change_to_a_quiz_feedback_or_a_caption_is_caught(
    tmp_path: Path,
) -> None:
    root = copy_of_the_book(tmp_path)
    page = "chapters/05_conv3d_video"
    quiz = root / "chapters" / "quizzes" / "05_conv3d_video.json"
    questions = load(quiz)
    questions[0]["answers"][1]["feedback"] += " Count again."
    quiz.write_text(i18n.dump_quiz(questions), encoding="utf-8")
    path = root / f"{page}.ipynb"
    notebook = load(path)
    index, cell = next(
        (i, c) for i, c in enumerate(notebook["cells"]) if c["id"] == "f44c7b39"
    )
    cell["metadata"]["mystnb"]["figure"]["caption"] += " Lower is better."
    path.write_text(i18n.dump_notebook(notebook), encoding="utf-8")
    i18n.update(root)
    problems = i18n.report(root, page).problems
    assert len(problems) == 2, problems
    assert any(
        "05_conv3d_video.json, question 1, answer 2: feedback" in p for p in problems
    ), problems
    assert any(f"cell {index} (id f44c7b39), figure caption" in p for p in problems)


# ------------------------------------------------------------------ byte for byte


def without_allowed_animation_changes(text: str) -> str:
    """An animation's HTML without what exception 3 may translate."""
    text = re.sub(r'\b(alt|title|aria-label)="[^"]*"', r'\1=""', text)
    text = re.sub(r"(<figcaption>).*?(</figcaption>)", r"\1\2", text, flags=re.S)
    return re.sub(r'(<label for="_anim_radio\w+">)[^<]*(</label>)', r"\1\2", text)


def untranslated_metadata(cell: dict[str, Any]) -> dict[str, Any]:
    """A cell's metadata without the figure's caption and alt text."""
    metadata = copy.deepcopy(cell["metadata"])
    metadata.get("mystnb", {}).get("figure", {}).pop("caption", None)
    metadata.get("mystnb", {}).get("image", {}).pop("alt", None)
    return metadata


def other_keys(cell: dict[str, Any]) -> dict[str, Any]:
    """Everything in a cell but its source, outputs and metadata."""
    return {k: v for k, v in cell.items() if k not in ("source", "outputs", "metadata")}


def html_of(output: dict[str, Any]) -> str:
    return "".join(output.get("data", {}).get("text/html", ""))


@pytest.mark.parametrize("docname", CHAPTERS)
def test_code_outputs_and_figures_are_the_english_ones(docname: str) -> None:
    english = load(ROOT / f"{docname}.ipynb")
    french = load(FR / f"{docname}.ipynb")
    assert french["metadata"] == english["metadata"]
    assert {k: v for k, v in french.items() if k != "cells"} == {
        k: v for k, v in english.items() if k != "cells"
    }
    assert [(c["cell_type"], c.get("id")) for c in french["cells"]] == [
        (c["cell_type"], c.get("id")) for c in english["cells"]
    ]
    quiz = i18n.quiz_path(english)
    exceptions = {"colab": 0, "quiz": 0, "animation": 0}
    for en, fr in zip(english["cells"], french["cells"]):
        where = f"{docname}, cell {en.get('id')}"
        if en["cell_type"] != "code":
            assert fr.get("attachments") == en.get("attachments"), where
            assert fr["metadata"] == en["metadata"], where
            continue
        # Exception 1: the Colab cell works in the French chapters' folder.
        if fr["source"] != en["source"]:
            assert i18n.cell_source(fr) == i18n.cell_source(en).replace(
                i18n.COLAB_CHDIR, i18n.COLAB_CHDIR_FR
            ), where
            assert i18n.COLAB_CHDIR_FR in i18n.cell_source(fr), where
            exceptions["colab"] += 1
        # Metadata: only the figure's caption and alt text are translated.
        assert untranslated_metadata(fr) == untranslated_metadata(en), where
        assert other_keys(fr) == other_keys(en), where
        # Exception 2: the quiz, rendered by jupyterquiz from the French quiz file.
        if quiz and i18n._QUIZ_CALL.search(i18n.cell_source(en)):
            labels = i18n.Catalogs(ROOT).book("jupyterquiz")
            expected = i18n.translate_quiz_outputs(
                en["outputs"], FR / Path(docname).parent / quiz, labels
            )
            assert fr["outputs"] == expected, where
            exceptions["quiz"] += 1
            continue
        assert len(fr["outputs"]) == len(en["outputs"]), where
        for en_out, fr_out in zip(en["outputs"], fr["outputs"]):
            if fr_out == en_out:
                continue
            # Exception 3: an animation's alt text and labels.
            assert i18n.is_animation(html_of(en_out)), f"{where}: an output differs"
            assert without_allowed_animation_changes(
                html_of(fr_out)
            ) == without_allowed_animation_changes(html_of(en_out)), where
            rest = {k: v for k, v in fr_out.items() if k != "data"}
            assert rest == {k: v for k, v in en_out.items() if k != "data"}, where
            assert set(fr_out["data"]) == set(en_out["data"]), where
            for mime in set(en_out["data"]) - {"text/html"}:
                assert fr_out["data"][mime] == en_out["data"][mime], where
            exceptions["animation"] += 1
    assert exceptions["colab"] == 1, (
        f"{docname}: no Colab cell moved to fr/: {exceptions}"
    )


@pytest.mark.parametrize("docname", CHAPTERS)
def test_the_quiz_rendering_is_jupyterquiz_own(docname: str) -> None:
    """Rendering the English quiz the way exception 2 renders the French one gives
    back, byte for byte, the English output that the kernel made."""
    english = load(ROOT / f"{docname}.ipynb")
    quiz = i18n.quiz_path(english)
    assert quiz, f"{docname} shows no quiz"
    cell = next(
        c
        for c in english["cells"]
        if c["cell_type"] == "code" and i18n._QUIZ_CALL.search(i18n.cell_source(c))
    )
    div_id = i18n.quiz_div_id(cell["outputs"])
    rendered = i18n.render_quiz(ROOT / Path(docname).parent / quiz, div_id)
    assert rendered == cell["outputs"]


def test_french_quiz_files_keep_the_answers_and_checks() -> None:
    """A French quiz is its English quiz with only the texts translated."""
    for english_file in sorted((ROOT / "chapters" / "quizzes").glob("*.json")):
        french_file = FR / "chapters" / "quizzes" / english_file.name
        english, french = load(english_file), load(french_file)
        assert len(french) == len(english)
        for en, fr in zip(english, french):
            assert set(fr) == set(en)
            assert {
                k: v for k, v in fr.items() if k not in ("question", "answers")
            } == {k: v for k, v in en.items() if k not in ("question", "answers")}
            for en_answer, fr_answer in zip(en["answers"], fr["answers"], strict=True):
                keep = set(en_answer) - {"answer", "feedback"}
                assert {k: fr_answer[k] for k in keep} == {
                    k: en_answer[k] for k in keep
                }


def test_french_notebooks_find_the_repository_data(monkeypatch) -> None:
    """Run from fr/chapters, a French notebook reads data/ at the repository's root,
    not fr/data (fr/ has a _toc.yml of its own)."""
    from book_src import data

    monkeypatch.delenv("BOOK_SRC_DATA", raising=False)
    monkeypatch.chdir(FR / "chapters")
    assert data.default_root() == ROOT / "data"
    monkeypatch.chdir(ROOT / "chapters")
    assert data.default_root() == ROOT / "data"


# --------------------------------------------------------------------- typography


@pytest.mark.parametrize("name", CATALOGS)
def test_translations_follow_french_typography(name: str) -> None:
    po = i18n.load_catalog(i18n.catalog_path(ROOT, name))
    wrong = [
        e.msgstr
        for e in po
        if e.msgstr and i18n.french_typography(e.msgstr) != e.msgstr
    ]
    assert not wrong, f"run `make i18n` (it fixes the spaces): {wrong}"


@pytest.mark.parametrize(
    ("typed", "typeset"),
    [
        (
            "Pourquoi ? Voici : 25 % « mot »",
            "Pourquoi\u00a0? Voici\u00a0: 25\u00a0% «\u00a0mot\u00a0»",
        ),
        (
            "`a ? b` et $x : y$ ; [lien](http://a:b)",
            "`a ? b` et $x : y$\u00a0; [lien](http://a:b)",
        ),
        ("3 s, 12 ms, 2 × 3, 3 sorties", "3\u00a0s, 12\u00a0ms, 2\u00a0× 3, 3 sorties"),
        ("«mot»", "«\u00a0mot\u00a0»"),
        # A counted noun the prose-number test reads as a unit; "s'en" is no second.
        ("160 paramètres, 9 poids", "160\u00a0paramètres, 9\u00a0poids"),
        ("le chapitre 4 s'en sert", "le chapitre 4 s'en sert"),
    ],
)
def test_french_typography(typed: str, typeset: str) -> None:
    assert i18n.french_typography(typed) == typeset
    assert i18n.french_typography(typeset) == typeset


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("(The training loss is averaged over the epoch.)", True),
        ("See [the chapter](02_pooling.ipynb).", True),
        ("`Conv1D(2, 3)`, $k = 3$", False),
        ("[](https://example.org/a-long-path)", False),
    ],
)
def test_a_paragraph_in_parentheses_is_still_prose(text: str, words: bool) -> None:
    assert i18n.has_words(text) is words


# ---------------------------------------------------------------- markdown units


@pytest.mark.parametrize("docname", toc_docnames())
def test_cutting_a_page_into_units_loses_nothing(docname: str) -> None:
    path = i18n.page_file(ROOT, docname)
    if path.suffix == ".md":
        texts = [path.read_text(encoding="utf-8")]
    else:
        texts = [
            i18n.cell_source(c)
            for c in load(path)["cells"]
            if c["cell_type"] == "markdown"
        ]
    for text in texts:
        assert "".join(p.text for p in i18n.split_markdown(text)) == text
        assert i18n.translate_markdown(text, {}) == text


def test_what_is_a_unit() -> None:
    text = (
        "## A title\n\nA paragraph\non two lines.\n\n- an item\n  that goes on;\n"
        "- another item.\n\n```{exercise} Do it\n:label: ex-a\n\nThe statement.\n```\n"
        "\n```{literalinclude} ../book_src/layers.py\n:pyobject: Conv1D\n```\n\n"
        "$$\ny = x\n$$\n\n```python\nprint('code')\n```\n"
    )
    units = [(p.kind, p.msgid) for p in i18n.split_markdown(text) if p.msgid]
    assert units == [
        ("heading", "A title"),
        ("paragraph", "A paragraph\non two lines."),
        ("list item", "an item\nthat goes on;"),
        ("list item", "another item."),
        ("title", "Do it"),
        ("paragraph", "The statement."),
    ]
    french = i18n.translate_markdown(
        text,
        {"an item\nthat goes on;": "un élément\nqui continue ;", "Do it": "Faites-le"},
    )
    assert "- un élément\n  qui continue ;\n- another item." in french
    assert "```{exercise} Faites-le\n:label: ex-a\n" in french
    assert i18n.literalinclude_paths(french, 1).count("../../book_src/layers.py") == 1


# ------------------------------------------------------------------ the built site


@pytest.fixture(scope="module")
def fr_site() -> Path:
    if not (FR_SITE / "index.html").is_file():
        pytest.fail(f"{FR_SITE / 'index.html'} is missing: run `make book`")
    return FR_SITE


def french_pages(site: Path) -> list[str]:
    return sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if not p.relative_to(site).parts[0].startswith("_")
    )


def test_every_page_has_its_french_page(fr_site: Path) -> None:
    expected = {f"{d}.html" for d in toc_docnames()}
    expected |= {"index.html", "search.html", "genindex.html"}
    assert set(french_pages(fr_site)) == expected


@pytest.mark.parametrize("docname", toc_docnames())
def test_french_page_is_french_and_links_back(docname: str, fr_site: Path) -> None:
    html = (fr_site / f"{docname}.html").read_text(encoding="utf-8")
    assert re.search(r'<html lang="fr"', html), docname
    english = (SITE / f"{docname}.html").read_text(encoding="utf-8")
    assert re.search(r'<html lang="en"', english), docname
    assert counterpart(docname, "fr", "en") == f"../{docname}.html"
    assert re.search(
        rf'<a class="btn btn-sm language-switch" href="\.\./\.\./{docname}\.html"\s+'
        r'hreflang="en" lang="en"',
        html,
    ), f"{docname}: no switch to the English page"
    assert re.search(
        rf'<a class="btn btn-sm language-switch" href="\.\./fr/{docname}\.html"\s+'
        r'hreflang="fr" lang="fr"',
        english,
    ), f"{docname}: no switch from the English page"


@pytest.mark.parametrize("docname", CHAPTERS)
def test_french_chapter_offers_the_french_notebook(docname: str, fr_site: Path) -> None:
    html = (fr_site / f"{docname}.html").read_text(encoding="utf-8")
    source = fr_site / "_sources" / f"{docname}.ipynb"
    assert source.read_bytes() == (FR / f"{docname}.ipynb").read_bytes()
    assert f'href="../_sources/{docname}.ipynb"' in html
    assert f"?urlpath=tree/fr/{docname}.ipynb" in html, "Binder"
    assert f"/blob/main/fr/{docname}.ipynb" in html, "Colab"


def test_french_search_uses_the_french_stemmer(fr_site: Path) -> None:
    options = (fr_site / "_static" / "documentation_options.js").read_text()
    assert "LANGUAGE: 'fr'" in options
    language_data = (fr_site / "_static" / "language_data.js").read_text()
    assert "FrenchStemmer" in language_data
    index = (fr_site / "searchindex.js").read_text(encoding="utf-8")
    # "séquences" and "séquence" share the French stem "séquenc".
    assert '"s\\u00e9quenc"' in index or '"séquenc"' in index


@pytest.mark.parametrize(
    "page",
    [pending(name) for name in toc_docnames()] + ["search", "genindex"],
)
def test_no_english_left_on_a_french_page(page: str, fr_site: Path) -> None:
    html = (fr_site / f"{page}.html").read_text(encoding="utf-8")
    left = english_left(html, f"{page}.html", PENDING)
    assert not left, f"fr/{page}.html: English left:\n  " + "\n  ".join(left[:40])


def test_the_english_detector_sees_english() -> None:
    assert is_english("The loop now runs over three indices.")
    assert is_english("Search this book...")
    assert not is_english("La boucle parcourt maintenant trois indices.")
    assert not is_english("Code sous licence MIT ; texte et figures sous CC BY 4.0.")
    page = (
        '<html lang="fr"><body><p>Une phrase en français, avec un `code`.</p>'
        "<p>A sentence left in English, as it was.</p>"
        '<a href="01_conv1d_loop.html">1. The title of a pending page</a>'
        '<a lang="en" title="Read this page in English">English</a>'
        '<img alt="A figure of the digits" src="x.png"></body></html>'
    )
    assert english_left(page, "chapters/intro.html", {"chapters/01_conv1d_loop"}) == [
        "alt='A figure of the digits'",
        "A sentence left in English, as it was.",
    ]


def test_theme_labels_are_replaced_whole() -> None:
    labels = {"Main": "Navigation principale", "Page": "Page"}
    text = '<nav aria-label="Main"><span>Main</span> Main menu <b>Mainly</b></nav>'
    assert replace_labels(text, labels) == (
        '<nav aria-label="Navigation principale"><span>Navigation principale</span>'
        " Main menu <b>Mainly</b></nav>"
    )
