"""The installed package is honest: its wheel works with its declared dependencies.

Colab installs ``book_src`` alone (the first cell of every chapter), so the wheel
must import with nothing but what ``pyproject.toml`` declares: no Sphinx, no
nbclient, no ``tools`` folder. The test builds the wheel, lets pip resolve its
dependencies for a fresh virtual environment (torch and torchvision constrained to
the pinned versions; the small dependencies' metadata come from the package index,
hence the ``network`` marker), installs the wheel there with exactly the
distributions it declares (linked, not copied) and imports every module.
"""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from helpers import ROOT

PINNED = ("torch", "torchvision")


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def pins() -> list[str]:
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    found = [
        line.strip()
        for line in text.splitlines()
        if re.match(rf"^({'|'.join(PINNED)})==", line.strip())
    ]
    assert len(found) == len(PINNED), found
    return found


def modules_in(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.endswith(".py")]
    assert names, f"{wheel.name} holds no Python file"
    return sorted(
        n.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for n in names
    )


def build_wheel(out: Path) -> Path:
    """Build from a copy of the sources, so that nothing is written in the repo."""
    source = out / "source"
    shutil.copytree(
        ROOT / "book_src",
        source / "book_src",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copyfile(ROOT / name, source / name)
    # --no-isolation: build with this environment's setuptools, no download.
    build = (sys.executable, "-m", "build", "--wheel", "--no-isolation")
    run(*build, "--outdir", out, source)
    (wheel,) = out.glob("book_src-*.whl")
    return wheel


def test_the_wheel_holds_the_course_and_nothing_else(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    modules = modules_in(wheel)
    assert all(m == "book_src" or m.startswith("book_src.") for m in modules), modules
    assert "book_src.layers" in modules
    for tool in ("sphinx_ext", "notebooks"):
        assert not any(m.endswith(tool) for m in modules), modules
    # The committed result summaries travel with the package (chapters 4 and 6).
    committed = sorted(p.name for p in (ROOT / "book_src" / "results").glob("*.json"))
    with zipfile.ZipFile(wheel) as zf:
        shipped = sorted(
            Path(n).name for n in zf.namelist() if n.startswith("book_src/results/")
        )
    assert committed and shipped == committed


def dependency_closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions that ``requirements`` need, transitively.

    Markers are evaluated for this interpreter, without extras. A requirement that
    this environment does not have is a failure: the environment is incomplete.
    """
    found: dict[str, metadata.Distribution] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        dist = metadata.distribution(name)
        assert dist.version in requirement.specifier, (requirement, dist.version)
        found[name] = dist
        todo += [Requirement(r) for r in dist.requires or []]
    return list(found.values())


def link_closure(dists: list[metadata.Distribution], folder: Path) -> None:
    """Make ``folder`` hold (as symbolic links) exactly the files of ``dists``."""
    folder.mkdir()
    for dist in dists:
        site = Path(dist.locate_file(""))
        for top in {Path(f).parts[0] for f in dist.files or [] if ".." not in f.parts}:
            if not (folder / top).exists() and (site / top).exists():
                (folder / top).symlink_to(site / top)


@pytest.mark.network
@pytest.mark.slow
def test_wheel_imports_every_module_with_declared_dependencies_only(
    tmp_path: Path,
) -> None:
    """A fresh venv sees the wheel and its declared dependencies, nothing else.

    pip resolves the wheel's dependencies (``--dry-run``: torch and torchvision
    constrained to the pins) and installs the wheel alone; the dependencies are this
    environment's own files, linked from one folder that a ``.pth`` file adds to the
    venv's path: the same packages pip would install, in seconds instead of a minute.
    """
    wheel = build_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(pins()) + "\n")
    pip = (python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    pip += ("--no-compile",)
    run(*pip, "--dry-run", "--constraint", constraints, wheel, cwd=tmp_path)
    run(*pip, "--no-deps", wheel, cwd=tmp_path)

    with zipfile.ZipFile(wheel) as zf:
        info = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        declared = email.message_from_bytes(zf.read(info)).get_all("Requires-Dist")
    assert declared, "the wheel declares no dependency"
    closure = tmp_path / "closure"
    link_closure(dependency_closure(declared), closure)
    (site_packages,) = (venv / "lib").glob("python*/site-packages")
    (site_packages / "closure.pth").write_text(f"{closure}\n")

    modules = modules_in(wheel)
    script = (
        "import importlib, importlib.util, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "for absent in ('sphinx', 'nbclient', 'tools', 'pytest'):\n"
        "    assert importlib.util.find_spec(absent) is None, absent\n"
        "print(len(sys.modules))\n"
    )
    # Run outside the repository, so that its folders are not importable.
    run(python, "-c", script, cwd=tmp_path)
