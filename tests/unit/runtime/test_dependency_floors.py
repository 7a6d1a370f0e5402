"""The lowest versions pyproject.toml allows have what the code uses.

A floor below a feature we call installs fine and fails at run time: with standardwebhooks 1.0.1
every signed POS event was refused as `invalid_signature`, because its `verify` has no
`json_parse`. Each row ties a floor to the use that needs it, found in the code itself.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# (package, first version with the feature, where we use it, the text of that use)
FEATURES = [
    ("standardwebhooks", "1.1.0", "order_service/api/retailer.py", "json_parse=False"),
    ("pytest-asyncio", "0.26", "pyproject.toml", "asyncio_default_test_loop_scope"),
]


def floor(package: str) -> Version:
    declared = [
        *PYPROJECT["project"]["dependencies"],
        *(r for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra),
    ]
    for line in declared:
        requirement = Requirement(line)
        if requirement.name == package:
            lows = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
            assert lows, f"{package} has no floor (>=) in pyproject.toml"
            return max(lows)
    raise AssertionError(f"{package} is not declared in pyproject.toml")


@pytest.mark.parametrize(("package", "first", "user", "use"), FEATURES)
def test_each_floor_has_the_feature_the_code_uses(
    package: str, first: str, user: str, use: str
) -> None:
    # The row is live only while the code still uses the feature.
    assert use in (ROOT / user).read_text()

    assert floor(package) >= Version(first), (
        f"{user} uses `{use}`, which {package} has from {first} on: raise its floor"
    )
