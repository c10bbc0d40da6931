"""Source manifests: rows, the reserved-source rules, choosing files from a mirror, and the checked build."""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detector.errors import ConfigError
from detector.outputs.demo import load_photo
from training.data import from_manifest
from training.data.sources import SourceRow, read_all, read_manifest, write_manifest
from training.data.sources.__main__ import main as sources_main
from training.data.sources.build import build
from training.data.sources.dedup import MAX_DISTANCE, EvalIndex, distance, phash_pixels
from training.data.sources.mirror import GitMirror, find_mirror
from training.data.sources.rules import SourceRules
from training.data.sources.select import Choice, select
from training.data.sources.table import counts_table

C40 = "a" * 40


def _row(**kw) -> SourceRow:
    base = {"repo": "someone/faces", "commit": C40, "path": "img/a.jpg", "sha256": "b" * 64, "label": "real", "family": "real",
                "kind": "everyday", "generator": "", "licence": "MIT"}
    return SourceRow(**{**base, **kw})


def _jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


PHOTOS = ("astronaut.png", "camera.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png", "coins.png",
          "moon.png", "horse.png", "retina.jpg", "ihc.png", "page.png")


def _photo(i: int) -> np.ndarray:
    # Real photographs: the perceptual hash is meant for them (on flat synthetic patterns the low DCT terms sit
    # near their median, and a re-encode flips bits that no photo would).
    rgb = load_photo(PHOTOS[i])
    return np.asarray(Image.fromarray(rgb).resize((256, 256 * rgb.shape[0] // rgb.shape[1])))


# --- rows -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [{"commit": "abc"}, {"sha256": "B" * 64}, {"path": "../x.jpg"}, {"path": "/x.jpg"},
                                 {"repo": "no-slash"}, {"label": "maybe"}, {"family": "swap"},
                                 {"kind": "generated_face"}, {"licence": ""},
                                 {"label": "fake", "family": "synthetic", "kind": "generated_face", "generator": ""},
                                 {"label": "fake", "family": "real", "kind": "generated_face", "generator": "x"}])
def test_bad_rows_are_refused(bad):
    with pytest.raises(ConfigError):
        _row(**bad)


def test_manifest_round_trip_sorted_and_strict(tmp_path):
    rows = [_row(path="z.jpg"), _row(path="a.jpg", label="fake", family="synthetic", kind="generated_face",
                                      generator="stylegan2", pair_id="p1")]
    path = write_manifest(tmp_path / "someone__faces.csv", rows)
    back = read_manifest(path)
    assert [r.path for r in back] == ["a.jpg", "z.jpg"] and back[0] == rows[1]
    text = path.read_text()
    path.write_text(text + text.splitlines()[1] + "\n")  # the same file twice
    with pytest.raises(ConfigError, match="twice"):
        read_manifest(path)
    path.write_text(text.replace("sha256", "digest", 1))
    with pytest.raises(ConfigError, match="header"):
        read_manifest(path)


def test_one_file_in_two_manifests_is_refused(tmp_path):
    write_manifest(tmp_path / "a.csv", [_row()])
    write_manifest(tmp_path / "b.csv", [_row()])
    with pytest.raises(ConfigError, match="two source manifests"):
        read_all(tmp_path)


# --- rules ------------------------------------------------------------------------------------------------------

def _shared(tmp: Path, *, eval_files: dict[str, bytes] | None = None) -> Path:
    shared = tmp / "shared"
    (shared / "eval").mkdir(parents=True)
    (shared / "RESERVED_SOURCES.txt").write_text("# hidden set\nHidden/Repo\n")
    kept = _jpeg(_photo(11))
    rows = [{"path": "train/x.jpg", "source_repo": "Used/Repo", "source_path": "faces/x.jpg",
             "sha256": hashlib.sha256(kept).hexdigest()}]
    for name, data in (eval_files or {}).items():
        (shared / "eval" / name).write_bytes(data)
        rows.append({"path": f"eval/{name}", "source_repo": "Other/Eval", "source_path": name,
                     "sha256": hashlib.sha256(data).hexdigest()})
    with (shared / "MANIFEST.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "source_repo", "source_path", "sha256"])
        writer.writeheader()
        writer.writerows(rows)
    return shared


def test_reserved_and_already_used_repositories_give_only_the_files_shared_holds(tmp_path):
    rules = SourceRules.load(_shared(tmp_path))
    assert rules.violation(_row(repo="hidden/repo")) and "hidden set" in rules.violation(_row(repo="hidden/repo"))
    assert "already used" in rules.violation(_row(repo="used/REPO", path="faces/y.jpg"))
    assert rules.violation(_row(repo="Used/Repo", path="faces/x.jpg")) is None  # the very file shared/data holds
    assert rules.violation(_row(repo="free/repo")) is None


def test_no_reserved_list_no_rules(tmp_path):
    with pytest.raises(ConfigError, match="reserved"):
        SourceRules.load(tmp_path)


# --- a mirror to choose from ------------------------------------------------------------------------------------

@pytest.fixture()
def mirror(tmp_path) -> tuple[Path, str, dict[str, bytes]]:
    """A bare mirror of a small repository: faces, a duplicate, an LFS pointer, a broken JPEG, a text file."""
    work = tmp_path / "work"
    files = {f"photos/p{i}.jpg": _jpeg(_photo(i)) for i in range(6)}
    files["photos/copy_of_p0.jpg"] = files["photos/p0.jpg"]
    files["photos/big.jpg"] = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\n" * 4000
    files["photos/broken.jpg"] = files["photos/p1.jpg"][:200] + b"\0" * 5000
    files["other/q.jpg"] = _jpeg(_photo(10))
    files["README.md"] = b"# faces\n" * 1000
    for rel, data in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(work)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "faces"], check=True)
    mirrors = tmp_path / "mirrors"
    subprocess.run(["git", "clone", "-q", "--mirror", str(work), str(mirrors / "someone+faces" / "repo")], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    return mirrors, commit, files


REAL = Choice(label="real", family="real", kind="everyday", generator="", licence="MIT")


def test_select_takes_decodable_media_once_and_reproducibly(mirror):
    mirrors, commit, files = mirror
    git = GitMirror(find_mirror(mirrors, "someone/faces"))
    assert git.head() == commit
    rows = select(git, "someone/faces", commit, REAL, include=["photos/*"], min_bytes=100)
    paths = {r.path for r in rows}
    # p0 and its copy are the same bytes: one of them; the LFS pointer, the broken file and other/ are out.
    assert len(paths) == 6 and len(paths & {"photos/p0.jpg", "photos/copy_of_p0.jpg"}) == 1
    assert not paths & {"photos/big.jpg", "photos/broken.jpg", "other/q.jpg"}
    assert all(r.sha256 == hashlib.sha256(files[r.path]).hexdigest() for r in rows)
    first = select(git, "someone/faces", commit, REAL, include=["photos/*"], min_bytes=100, limit=3)
    again = select(git, "someone/faces", commit, REAL, include=["photos/*"], min_bytes=100, limit=3)
    assert first == again and len(first) == 3
    rest = select(git, "someone/faces", commit, REAL, include=["photos/*"], exclude=["*/p5.jpg"], min_bytes=100,
                  skip={r.path for r in first})
    assert not {r.path for r in rest} & ({r.path for r in first} | {"photos/p5.jpg"})
    faceless = select(git, "someone/faces", commit, REAL, include=["photos/*"], min_bytes=100,
                      has_face=lambda rgb: False)
    assert faceless == []


def test_add_command_appends_to_the_repository_manifest(mirror, tmp_path):
    mirrors, commit, _ = mirror
    shared = _shared(tmp_path)
    common = ["--manifests", str(tmp_path / "m"), "--shared", str(shared), "--mirrors", str(mirrors), "add",
              "someone/faces", "--label", "real", "--kind", "old", "--licence", "CC0"]
    assert sources_main([*common, "--include", "photos/p[12].jpg"]) == 0
    assert sources_main([*common, "--include", "photos/p[1-3].jpg"]) == 0
    rows = read_manifest(tmp_path / "m" / "someone__faces.csv")
    assert [r.path for r in rows] == ["photos/p1.jpg", "photos/p2.jpg", "photos/p3.jpg"]
    assert {r.commit for r in rows} == {commit} and {r.kind for r in rows} == {"old"}
    assert sources_main(["--shared", str(shared), "--mirrors", str(mirrors), "--manifests", str(tmp_path / "m"),
                         "add", "someone/faces", "--label", "fake", "--kind", "face_swap", "--licence", "x",
                         "--include", "*"]) == 2  # a fake needs its family


# --- dedup ------------------------------------------------------------------------------------------------------

def test_perceptual_hash_sees_copies_not_different_pictures(astronaut):
    original = phash_pixels(astronaut)
    recoded = np.asarray(Image.open(io.BytesIO(_jpeg(astronaut, quality=40))))
    half = np.asarray(Image.fromarray(astronaut).resize((astronaut.shape[1] // 2, astronaut.shape[0] // 2)))
    grey = np.asarray(Image.fromarray(astronaut).convert("L"))
    for copy in (recoded, half, grey):
        assert distance(original, phash_pixels(copy)) <= MAX_DISTANCE
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    assert distance(original, phash_pixels(mirrored)) > MAX_DISTANCE
    others = [phash_pixels(_photo(i)) for i in range(len(PHOTOS))]
    assert min(distance(a, b) for i, a in enumerate(others) for b in others[i + 1:]) > MAX_DISTANCE


def test_eval_index_names_byte_and_picture_copies(tmp_path, astronaut):
    data = _jpeg(astronaut)
    (tmp_path / "e.jpg").write_bytes(data)
    index = EvalIndex.from_folder(tmp_path)
    assert index.duplicate_of(data, "x.jpg", hashlib.sha256(data).hexdigest()) == "identical bytes"
    recoded = _jpeg(astronaut, quality=30)
    assert "perceptual copy" in index.duplicate_of(recoded, "x.jpg", hashlib.sha256(recoded).hexdigest())
    other = _jpeg(_photo(2))
    assert index.duplicate_of(other, "x.jpg", hashlib.sha256(other).hexdigest()) is None


# --- build ------------------------------------------------------------------------------------------------------

def test_build_materialises_checks_and_drops_copies(mirror, tmp_path):
    mirrors, commit, files = mirror
    # eval holds a re-encoded p2 (a perceptual copy) and p3's exact bytes.
    eval_p2 = _jpeg(np.asarray(Image.open(io.BytesIO(files["photos/p2.jpg"]))), quality=60)
    shared = _shared(tmp_path, eval_files={"p2.jpg": eval_p2, "p3.jpg": files["photos/p3.jpg"]})
    manifests = tmp_path / "m"
    git = GitMirror(find_mirror(mirrors, "someone/faces"))
    rows = select(git, "someone/faces", commit, REAL, include=["photos/p*"], min_bytes=100)
    wrong = _row(repo="someone/faces", commit=commit, path="photos/p4.jpg", sha256="c" * 64)
    rows = [r for r in rows if r.path != "photos/p4.jpg"] + [wrong]
    rows.append(_row(repo="gone/repo", commit=commit, path="a.jpg"))
    write_manifest(manifests / "someone__faces.csv", [r for r in rows if r.repo == "someone/faces"])
    write_manifest(manifests / "gone__repo.csv", [r for r in rows if r.repo == "gone/repo"])
    write_manifest(manifests / "hidden__repo.csv", [_row(repo="Hidden/Repo", commit=commit)])

    out = tmp_path / "out"
    report = build(out, mirrors=mirrors, shared=shared, manifests=manifests)
    reasons = {where: reason for reason, where, _ in report.skipped}
    assert reasons == {"someone/faces:photos/p2.jpg": "eval_duplicate", "someone/faces:photos/p3.jpg": "eval_duplicate",
                       "someone/faces:photos/p4.jpg": "sha256_mismatch", "gone/repo:a.jpg": "no_mirror",
                       "Hidden/Repo:img/a.jpg": "reserved"}
    assert {r[1] for r in report.refused} == {"someone/faces:photos/p4.jpg", "Hidden/Repo:img/a.jpg"}
    items = from_manifest(out / "MANIFEST.csv")
    assert sorted(Path(it.path).name for it in items) == ["p0.jpg", "p1.jpg", "p5.jpg"]
    for it in items:
        assert it.label == 0 and it.source == "someone/faces" and it.group == "someone/faces:photos"
        assert it.path.read_bytes() == files[f"photos/{it.path.name}"]

    again = build(out, mirrors=mirrors, shared=shared, manifests=manifests)  # resumes: nothing rewritten
    assert (again.built, again.reused) == (0, 3)
    assert "sha256_mismatch" in again.summary()


def test_build_drops_what_shared_data_already_holds(mirror, tmp_path):
    mirrors, commit, files = mirror
    shared = _shared(tmp_path)
    kept = (shared / "MANIFEST.csv").read_text().splitlines()[1].split(",")[-1]
    row = _row(repo="someone/faces", commit=commit, path="photos/p0.jpg",
               sha256=hashlib.sha256(files["photos/p0.jpg"]).hexdigest())
    twin = _row(repo="someone/faces", commit=commit, path="photos/copy_of_p0.jpg", sha256=row.sha256)
    report = build(tmp_path / "out", mirrors=mirrors, shared=shared, rows=[row, twin])
    assert [s[0] for s in report.skipped] == ["repeated_bytes"] and report.built == 1
    fake_shared = _row(repo="someone/faces", commit=commit, path="photos/p1.jpg", sha256=kept)
    report = build(tmp_path / "out2", mirrors=mirrors, shared=shared, rows=[fake_shared])
    assert [s[0] for s in report.skipped] == ["shared_duplicate"]


def test_counts_table_counts_per_source_and_kind():
    rows = [_row(path=f"{i}.jpg") for i in range(3)] + [
        _row(repo="gan/faces", path="f.png", label="fake", family="synthetic", kind="generated_face",
             generator="stylegan2", licence="CC0")]
    table = counts_table(rows)
    assert "| `someone/faces` | 3 | real:everyday (3) | MIT |" in table
    assert "| fake:generated_face | 1 | 1 |" in table and "| **all** | 4 | 2 |" in table


# --- the committed manifests ------------------------------------------------------------------------------------

def test_committed_manifests_load():
    rows = read_all()
    assert rows, "training/data/sources/manifests holds the project's sources"
    assert len({r.sha256 for r in rows}) == len(rows), "the same bytes listed twice across sources"


@pytest.mark.data
def test_committed_manifests_keep_the_reserved_rules(shared_data):
    rules = SourceRules.load(shared_data)
    assert rules.violations(read_all()) == []


def test_tree_skips_blobs_a_partial_mirror_lacks(tmp_path, monkeypatch):
    # `git ls-tree -l` prints the size "BAD" for a blob the mirror does not hold (fetch leaves out the largest).
    listing = (b"100644 blob " + b"1" * 40 + b"     123\ta.jpg\0"
               b"100644 blob " + b"2" * 40 + b"     BAD\tbig.mp4\0")
    git = GitMirror(tmp_path)
    monkeypatch.setattr(git, "_git", lambda *args, **kw: listing)
    assert [e.path for e in git.tree(C40)] == ["a.jpg"]


def test_find_mirror_accepts_a_checkout_too(mirror, tmp_path):
    mirrors, commit, _ = mirror
    checkout = tmp_path / "other" / "someone+faces" / "repo"
    subprocess.run(["git", "clone", "-q", str(mirrors / "someone+faces" / "repo"), str(checkout)], check=True)
    assert GitMirror(find_mirror(tmp_path / "other", "someone/faces")).head() == commit
    with pytest.raises(ConfigError, match="no git mirror"):
        find_mirror(tmp_path / "other", "someone/else")


def test_training_readme_shows_the_committed_sources():
    readme = (Path(__file__).resolve().parents[3] / "training" / "README.md").read_text(encoding="utf-8")
    shown = readme.split("<!-- sources-table:start -->\n", 1)[1].split("\n<!-- sources-table:end -->", 1)[0]
    assert shown == counts_table(read_all()), "regenerate with: python -m training.data.sources table"
