"""``python -m training.recipe_data``: the v2 candidates' data, from pinned manifests, fakes made from training reals only."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest

from detector.errors import ConfigError
from training import recipe_data
from training.recipe_data import MANIFESTS_IN_REPO, RecipeData, build_recipe_data, manifests_at


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_the_recipe_trains_on_training_parts_only():
    assert set(RecipeData().reals()) < set(RecipeData().training())
    assert not any("holdout" in p for p in RecipeData().training())


def test_manifests_are_read_as_of_the_pinned_commit_not_the_working_tree(tmp_path):
    repo = tmp_path / "repo"
    (repo / MANIFESTS_IN_REPO).mkdir(parents=True)
    _git(repo.parent, "init", "-q", str(repo))
    manifest = repo / MANIFESTS_IN_REPO / "a__b.csv"
    manifest.write_text("repo,path\na/b,x.jpg\n")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "pin")
    pinned = _git(repo, "rev-parse", "HEAD")
    manifest.write_text("repo,path\na/b,x.jpg\na/b,y.jpg\n")  # a later row, committed or not
    got = manifests_at(pinned, tmp_path / "out", repo=repo)
    assert (got / "a__b.csv").read_text() == "repo,path\na/b,x.jpg\n"
    with pytest.raises(ConfigError, match="cannot read the source manifests"):
        manifests_at("0" * 40, tmp_path / "bad", repo=repo)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_the_build_splits_before_it_fakes_and_fakes_only_training_reals(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    _write_csv(shared / "MANIFEST.csv", [
        {"path": "a.jpg", "split": "train", "label": "real", "source_repo": "kept/src"},
        {"path": "b.jpg", "split": "train", "label": "real", "source_repo": "deepinsight/insightface"},  # held out
        {"path": "c.jpg", "split": "eval", "label": "real", "source_repo": "kept/src"}])
    calls: list[tuple[str, tuple[str, ...]]] = []

    def fake_build(out, *, mirrors, shared, manifests):
        assert Path(manifests).name == "manifests" and mirrors == "MIRRORS"
        calls.append(("build", ()))
        _write_csv(Path(out) / "MANIFEST.csv", [
            {"path": "p.jpg", "label": "real", "source_repo": "pub/src"},
            {"path": "q.jpg", "label": "fake", "source_repo": "somanchiu/ReSwapper"}])  # held out

        class Report:
            refused = ()

        return Report()

    def synth(name):
        def make(manifests, out, **kwargs):
            calls.append((name, tuple(manifests)))
            _write_csv(Path(out) / "MANIFEST.csv", [{"path": "f.jpg", "label": "fake"}])
            return [], []
        return make

    import training.data.sources.build as build_mod
    from training.synth import aligned, cross_swap, mouth

    monkeypatch.setattr(build_mod, "build", fake_build)
    monkeypatch.setattr(aligned, "make_aligned_fakes", synth("aligned"))
    monkeypatch.setattr(mouth, "make_mouth_fakes", synth("mouth"))
    monkeypatch.setattr(cross_swap, "make_cross_swaps", synth("cross_swap"))
    monkeypatch.setattr(recipe_data, "manifests_at", lambda commit, dst, **kw: Path(dst) / "manifests")
    monkeypatch.setattr(recipe_data, "resolve_commit", lambda commit, **kw: commit)

    data = build_recipe_data(tmp_path / "data", mirrors="MIRRORS", shared=shared)
    assert [c[0] for c in calls] == ["build", "aligned", "mouth", "cross_swap"]
    assert all(c[1] == data.reals() for c in calls[1:])
    paths = {side: [Path(r["path"]).name for r in csv.DictReader((data.shared / f"{side}.csv").open())]
             for side in ("train", "holdout")}
    assert paths == {"train": ["a.jpg"], "holdout": ["b.jpg"]}  # eval never enters
    public = {side: [Path(r["path"]).name for r in csv.DictReader((data.sources / f"{side}.csv").open())]
              for side in ("train", "holdout")}
    assert public == {"train": ["p.jpg"], "holdout": ["q.jpg"]}
    assert all(Path(p).is_file() for p in data.training())
    # A second run resumes: nothing is rebuilt or re-split (the synth steps resume by themselves).
    calls.clear()
    build_recipe_data(tmp_path / "data", mirrors="MIRRORS", shared=shared)
    assert [c[0] for c in calls] == ["aligned", "mouth", "cross_swap"]
    # Other manifests into the same folder: built again (the builder keeps what it has) and split again, not
    # silently trained on the old ones (a lab build of 2026-12-07 did that once).
    calls.clear()
    build_recipe_data(tmp_path / "data", mirrors="MIRRORS", shared=shared, commit="0123abc")
    assert [c[0] for c in calls] == ["build", "aligned", "mouth", "cross_swap"]
    assert (data.sources / "all" / "COMMIT").read_text().strip() == "0123abc"
    assert (data.sources / "train.csv").is_file() and (data.sources / "holdout.csv").is_file()


def test_commits_resolve_to_their_full_hash_and_unknown_ones_are_refused():
    from training.recipe_data import SOURCES_COMMIT, resolve_commit

    full = resolve_commit(SOURCES_COMMIT)
    assert len(full) == 40 and full.startswith(SOURCES_COMMIT)
    with pytest.raises(ConfigError, match="no commit"):
        resolve_commit("0" * 40)
