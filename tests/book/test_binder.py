"""The Binder recipe: what repo2docker would build from ``binder/``.

``jupyter-repo2docker --no-build --debug`` prints the Dockerfile it would build,
without a Docker engine and without the network. The checks: it installs
``binder/requirements.txt`` once the whole repository is in the image (that file
includes ``../requirements.txt``), which reaches every pin of the book and the
CPU-only PyTorch index; it runs ``binder/postBuild``, which installs ``book_src``
and downloads MNIST; and it uses the Python version of ``binder/runtime.txt``.
What only a real Binder launch shows: that the packages resolve and install, and
that the MNIST download works there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def read_requirements(path: Path, seen: frozenset[Path] = frozenset()) -> list[str]:
    """Return the lines pip would read from ``path``, following ``-r`` includes.

    As pip does, an included path is relative to the including file. Comments and
    blank lines are dropped; options (``--extra-index-url ...``) are kept.
    """
    path = path.resolve()
    assert path not in seen, f"requirements include themselves: {path}"
    assert path.is_file(), f"{path} is missing"
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*", "", raw).strip()
        if not line:
            continue
        include = re.fullmatch(r"(?:-r|--requirement)(?:\s+|=)(\S+)", line)
        if include:
            lines += read_requirements(path.parent / include[1], seen | {path})
        else:
            lines.append(line)
    return lines


def pins(lines: list[str]) -> dict[str, str]:
    """Map each ``name==version`` line to ``{normalised name: version}``."""
    found = {}
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(\S+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


@pytest.fixture(scope="module")
def dockerfile() -> str:
    """The Dockerfile repo2docker would build for this repository."""
    run = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--debug", str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "FROM " in run.stdout, run.stdout + run.stderr
    return run.stdout + "\n" + run.stderr


def test_recipe_installs_binder_requirements_after_copying_the_repo(
    dockerfile: str,
) -> None:
    install = dockerfile.find('pip install --no-cache-dir -r "binder/requirements.txt"')
    copy_all = dockerfile.find("COPY --chown=0:0 src/ ${REPO_DIR}/")
    assert install != -1, "repo2docker does not install binder/requirements.txt"
    # `-r ../requirements.txt` needs the root file: the whole repo, copied first.
    assert copy_all != -1 and copy_all < install


def test_recipe_runs_post_build_last(dockerfile: str) -> None:
    install = dockerfile.find('-r "binder/requirements.txt"')
    post_build = dockerfile.find("RUN ./binder/postBuild")
    assert post_build != -1, "repo2docker does not run binder/postBuild"
    assert post_build > install


def test_recipe_uses_the_python_of_runtime_txt(dockerfile: str) -> None:
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    version = runtime.removeprefix("python-")
    assert f"python={version}" in dockerfile
    assert re.fullmatch(r"3\.\d+", version), runtime


def test_binder_requirements_reach_every_root_pin() -> None:
    root = pins(read_requirements(ROOT / "requirements.txt"))
    binder = read_requirements(BINDER / "requirements.txt")
    assert pins(binder) == root
    for name in ("torch", "torchvision", "jupyter-book", "jupyter-server-mathjax"):
        assert name in root, f"{name} is not pinned in requirements.txt"
    # The pins live in one file: binder/requirements.txt only includes it.
    direct = (BINDER / "requirements.txt").read_text(encoding="utf-8")
    assert not pins(direct.splitlines()), "do not repeat pins in binder/"


def test_binder_uses_cpu_only_torch_wheels() -> None:
    lines = read_requirements(BINDER / "requirements.txt")
    assert f"--extra-index-url {CPU_INDEX}" in lines
    # A local version label (+cpu) in the pin would break installs elsewhere.
    assert "+" not in pins(lines)["torch"]


def test_post_build_installs_book_src_and_mnist() -> None:
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    text = post_build.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n") or text.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in text
    commands = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    install = next((c for c in commands if re.search(r"pip install .*-e \.$", c)), "")
    data = "python -m book_src.data --root data"
    assert install, "postBuild must install book_src (pip install -e .)"
    assert data in commands, f"postBuild must run `{data}`"
    assert commands.index(install) < commands.index(data)
    # From the repository root, wherever repo2docker starts it.
    assert 'cd "$(dirname "$0")/.."' in commands
    syntax = subprocess.run(["bash", "-n", str(post_build)], check=False)
    assert syntax.returncode == 0


def test_book_src_is_the_package_installed() -> None:
    """``pip install -e .`` from the root installs ``book_src`` and every subpackage."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        packages = tomllib.load(f)["tool"]["setuptools"]["packages"]
    on_disk = sorted(
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "book_src").rglob("__init__.py")
    )
    assert sorted(packages) == on_disk
