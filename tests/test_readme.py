"""The README opens with exactly two set-up commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re
import shlex
import subprocess
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


def test_readme_demo_leaves_the_checkout_clean():
    """Command 1 writes its clip, fake and report under out/, which git ignores, so a clone stays clean."""
    first = _commands()[0]
    written = [arg for part in first.split(" && ") for arg in shlex.split(part)
               if arg.endswith((".mp4", ".html"))]
    assert {Path(arg).name for arg in written} == {"demo.mp4", "demo_fake.mp4", "demo_report.html"}
    assert all(arg.startswith("out/") for arg in written), written
    assert "/out/" in (REPO / ".gitignore").read_text().splitlines()
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *written], cwd=REPO, capture_output=True,
                             text=True, check=False)
    if ignored.returncode != 128:  # 128: not a git checkout
        assert ignored.stdout.split() == written


def test_readme_documents_both_test_tiers():
    """Command 2 (CI) runs the full suite; the Tests section names the fast default tier."""
    assert _commands()[1].endswith("-m pytest --full")
    text = (REPO / "README.md").read_text()
    tests = text[text.index("\n## Tests\n"):]
    assert ".venv/bin/python -m pytest          # fast tier" in tests
