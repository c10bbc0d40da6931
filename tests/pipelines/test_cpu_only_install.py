"""A fresh environment with only the ``cpu`` and ``demo`` extras (no torch) runs ``deepfake faces`` and the
README's first command (demo clip, self-blended fake of it, scan of both with a report) end to end."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _uv() -> list[str] | None:
    exe = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if Path(exe).is_file():
        return [exe]
    try:
        import uv  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "uv"]


@pytest.mark.slow
def test_cpu_only_venv_runs_faces(tmp_path, demo_clip, shared_data_or_none):
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed")
    # Install from a copy of the sources so the build leaves nothing in the working tree.
    src = tmp_path / "src"
    for name in ("pyproject.toml", "README.md", "detector", "training", "pipelines"):
        src.mkdir(exist_ok=True)
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, src / name)
    venv = tmp_path / "venv"
    subprocess.run([*uv, "venv", "-q", str(venv), "--python", sys.executable], check=True)
    py = venv / "bin" / "python"
    subprocess.run([*uv, "pip", "install", "-q", "--python", str(py), f"{src}[cpu,demo]"], check=True, cwd=tmp_path)
    probe = subprocess.run([str(py), "-c", "import importlib.util as u; print(u.find_spec('torch') is None)"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "True", "torch must not come with the cpu extra"
    persons = {"dfl_Ava_de_Addario_0_L_real.mp4": 2}
    clips = [demo_clip]
    if shared_data_or_none is not None:
        clips += sorted((shared_data_or_none / "eval" / "videos" / "real").glob("*.mp4"))
    out = subprocess.run([str(venv / "bin" / "deepfake"), "faces", *map(str, clips), "--json", "--out",
                          str(tmp_path / "faces")], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(records) == len(clips)
    for clip, record in zip(clips, records):
        assert record["status"] == "ok"
        assert len(record["tracks"]) == persons.get(Path(clip).name, 1), (clip, record["tracks"])

    # README command 1, after its install step, read from the README so the two cannot drift apart.
    steps = readme_demo_steps()
    assert [step[0] for step in steps] == ["demo-clip", "synth", "scan"]
    for step in steps[:-1]:
        done = subprocess.run([str(venv / "bin" / "deepfake"), *step], capture_output=True, text=True, cwd=tmp_path,
                              check=False)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
    scan_step = steps[-1]
    scan = subprocess.run([str(venv / "bin" / "deepfake"), *scan_step, "--json"], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert scan.returncode in (0, 1), scan.stderr  # 1: a fake was found
    results = [json.loads(line) for line in scan.stdout.splitlines()]
    scanned = [arg for arg in scan_step[1:] if arg.endswith(".mp4")]
    assert [r["path"] for r in results] == scanned == ["out/demo.mp4", "out/demo_fake.mp4"]
    for r in results:
        assert r["verdict"] in ("fake", "real", "uncertain") and 0.0 <= r["fake_probability"] <= 1.0
    assert scan.returncode == int(any(r["verdict"] == "fake" for r in results))
    report = tmp_path / scan_step[scan_step.index("--report") + 1]
    assert "demo_fake.mp4" in report.read_text()
    # Everything the command wrote is under out/ (ignored by .gitignore): nothing lands beside the sources.
    assert not list(tmp_path.glob("demo*"))


def readme_demo_steps() -> list[list[str]]:
    """The ``deepfake`` invocations of README command 1, without the program name."""
    text = (REPO / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)```", text, flags=re.DOTALL).group(1).strip()
    parts = [shlex.split(part) for part in first.split(" && ")]
    return [argv[1:] for argv in parts if argv[0] == ".venv/bin/deepfake"]
