"""In CI the live adapter tests must run, not skip: the runners they need are installed."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.mark.parametrize("tool", ["cargo", "go"])
def test_ci_has_the_live_runners(tool: str) -> None:
    """`.ci/run` installs cargo and Go; without them the real-runner tests would only skip."""
    if os.environ.get("CI") != "true":
        pytest.skip("only CI must have every runner; a developer's machine may skip")
    assert shutil.which(tool) is not None, f"{tool} is missing in CI: .ci/run should install it"
