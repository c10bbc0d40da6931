"""The README opens with exactly two set-up commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)]


def test_readme_starts_with_two_commands():
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, flags=re.DOTALL)
    assert [lang for lang, _ in blocks[:2]] == ["bash", "bash"]
    first, second = (body.strip() for _, body in blocks[:2])
    assert "\n" not in first and "\n" not in second
    assert "deepfake" in first and "pytest" in second


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert _commands()[1] in ci.splitlines()


def test_top_level_layout():
    allowed = {"detector", "training", "pipelines", "tests", "notebooks", "benchmarks", ".ci", "pyproject.toml",
               "README.md", ".gitignore", ".git"}
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=False).stdout.split()
    if tracked:  # inside a git checkout
        assert {p.split("/")[0] for p in tracked} <= allowed
