"""What the Makefile hands to the programs it runs.

pip installs without compiling (``--no-compile``), so Python must be allowed to write
the bytecode of what it imports, once: a ``PYTHONDONTWRITEBYTECODE`` set by the
machine (these CI machines set it) would make every process compile torch again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from helpers import ROOT

SHOW = "show-bytecode-flag: ; @{python} -c 'import sys; print(sys.dont_write_bytecode)'"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_python_run_by_make_writes_bytecode_even_if_the_machine_says_not_to() -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            f"--eval={SHOW.format(python=sys.executable)}",
            "show-bytecode-flag",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "False", run.stdout + run.stderr
