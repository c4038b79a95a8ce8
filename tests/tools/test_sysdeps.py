"""``tools/sysdeps.py`` asks apt-get for exactly what is missing, and nothing else.

Each case runs the script as ``make test`` does, with a PATH that holds only stub
programs: an ``apt-get`` that records its arguments, and, where the case says so,
``chromium``, ``node``, ``npm`` and ``dpkg-query`` (which tells whose Node.js it is).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.browser import find_chromium
from tools.sysdeps import Machine, plan

from helpers import ROOT

NODESOURCE = "20.20.2-1nodesource1"
DEBIAN = "18.19.0+dfsg-6~deb12u2"


def stub(folder: Path, name: str, body: str = "exit 0") -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def run_sysdeps(
    tmp_path: Path,
    programs: list[str],
    node_version: str | None = None,
    apt_exit: int = 0,
    *args: str,
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the script with the stub ``programs`` on the PATH; return apt-get's calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    stub(bin_dir, "apt-get", f'echo "$*" >> {log}\nexit {apt_exit}')
    stub(bin_dir, "sudo", 'shift; exec "$@"')  # `sudo -n cmd`: when not root
    for program in programs:
        stub(bin_dir, program)
    if node_version is not None:
        stub(bin_dir, "dpkg-query", f"printf '{node_version}'")
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),  # no Playwright browser downloaded here
        "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "no-browsers"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tools.sysdeps", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return done, calls


def test_node_and_npm_present_chromium_missing(tmp_path: Path) -> None:
    # The machine of issue 17: NodeSource's Node.js with its own npm, no Chromium.
    done, calls = run_sysdeps(tmp_path, ["node", "npm"], node_version=NODESOURCE)
    assert done.returncode == 0, done.stderr
    assert calls == ["update -qq", "install -y -qq chromium"]


def test_everything_present_touches_nothing(tmp_path: Path) -> None:
    done, calls = run_sysdeps(
        tmp_path, ["chromium", "node", "npm"], node_version=NODESOURCE
    )
    assert done.returncode == 0, done.stderr
    assert calls == []


def test_chromium_present_node_missing(tmp_path: Path) -> None:
    done, calls = run_sysdeps(tmp_path, ["chromium"])
    assert done.returncode == 0, done.stderr
    assert calls == ["update -qq", "install -y -qq nodejs npm"]


def test_nothing_present(tmp_path: Path) -> None:
    done, calls = run_sysdeps(tmp_path, [])
    assert done.returncode == 0, done.stderr
    assert calls == ["update -qq", "install -y -qq chromium nodejs npm"]


def test_check_only_decides(tmp_path: Path) -> None:
    # `make test` checks first, in a second, then installs beside the .venv.
    done, calls = run_sysdeps(tmp_path, [], None, 0, "--check")
    assert done.returncode == 0, done.stderr
    assert calls == []
    assert "apt-get install chromium nodejs npm" in done.stdout


def test_debian_node_without_npm_gets_debian_npm(tmp_path: Path) -> None:
    done, calls = run_sysdeps(tmp_path, ["chromium", "node"], node_version=DEBIAN)
    assert done.returncode == 0, done.stderr
    assert calls == ["update -qq", "install -y -qq npm"]


def test_other_node_without_npm_stops_without_apt(tmp_path: Path) -> None:
    # Debian's npm would conflict with NodeSource's nodejs: say so, install nothing.
    done, calls = run_sysdeps(tmp_path, ["chromium", "node"], node_version=NODESOURCE)
    assert done.returncode == 1
    assert calls == []
    assert "npm" in done.stderr and "conflicts" in done.stderr


def test_apt_failure_stops_with_its_command(tmp_path: Path) -> None:
    done, calls = run_sysdeps(tmp_path, ["node", "npm"], NODESOURCE, apt_exit=100)
    assert done.returncode != 0
    assert calls == ["update -qq"]
    assert "apt-get update -qq` failed (exit 100)" in done.stderr


def test_a_chromium_from_playwright_counts(tmp_path: Path) -> None:
    browsers = tmp_path / "no-browsers" / "chromium-1234" / "chrome-linux"
    browsers.mkdir(parents=True)
    stub(browsers, "chrome")
    done, calls = run_sysdeps(tmp_path, ["node", "npm"], node_version=NODESOURCE)
    assert done.returncode == 0, done.stderr
    assert calls == []


# Without root the script never calls apt-get; these decisions are the plan's.
NO_ROOT = Machine(chromium=False, node="other", npm=True, apt=True, admin=False)


def test_no_root_downloads_playwrights_chromium() -> None:
    todo = plan(NO_ROOT, download_works=True)
    assert todo.apt_packages == [] and todo.playwright and not todo.problems


def test_no_root_no_network_stops_with_the_commands() -> None:
    todo = plan(NO_ROOT, download_works=False)
    assert todo.apt_packages == [] and not todo.playwright
    (problem,) = todo.problems
    assert "sudo apt-get install chromium" in problem
    assert "python -m playwright install chromium" in problem


@pytest.mark.parametrize("node", [None, "debian"])
def test_no_root_no_npm_names_the_command(node: str | None) -> None:
    machine = Machine(chromium=True, node=node, npm=False, apt=True, admin=False)
    (problem,) = plan(machine, download_works=False).problems
    assert "sudo apt-get install nodejs npm" in problem


def test_chromium_env_variable_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub(tmp_path, "chrome")
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "chrome"))
    assert find_chromium() == tmp_path / "chrome"
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "absent"))
    assert find_chromium() is None  # asked for, missing: never another one
