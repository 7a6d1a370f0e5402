"""uv.lock is what every install uses (make up, make test, the image): it must match pyproject.toml.

Branches keep changing pyproject.toml; one that forgets `make lock` fails here with what to do.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
UV = Path(sys.executable).parent / "uv"


def test_the_lock_matches_pyproject() -> None:
    # Offline: a lock that matches needs no index to say so; one that does not, fails.
    checked = subprocess.run(
        [str(UV), "lock", "--check", "--offline"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, (
        "uv.lock does not match pyproject.toml: run `make lock` and commit uv.lock\n"
        + checked.stderr
    )


def test_make_and_the_image_install_from_the_lock_and_the_same_uv() -> None:
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    make_uv = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    image_uv = re.search(r"uv==(\S+)", dockerfile)
    assert make_uv and image_uv and make_uv[1] == image_uv[1]
    # Every install is frozen to the lock: never a resolution of its own.
    assert makefile.count("$(UV) sync --frozen") == 2
    bootstrap = "pip install -q --disable-pip-version-check uv"
    assert makefile.count("pip install") == makefile.count(bootstrap) == 1
    assert re.search(r"^COPY .*\buv\.lock\b", dockerfile, re.MULTILINE)
    assert "--require-hashes" in dockerfile
    assert "RUN pip install --no-cache-dir --no-deps ." in dockerfile
