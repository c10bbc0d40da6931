"""Shared by the dataset tests: tiny placeholder trees shaped like each layout, and the helpers that build and
check them (as fixtures too: test modules are imported in importlib mode and cannot import this one).

Placeholder media hold a few bytes: adapters only list and stat files, they never decode them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from training.data import MediaItem

# ------------------------------------------------------------------------------------------------ helpers


def touch(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x00placeholder")


def by_name(items: list[MediaItem]) -> dict[str, MediaItem]:
    return {it.path.name: it for it in items}


def assert_sorted_absolute(items: list[MediaItem]) -> None:
    assert [str(it.path) for it in items] == sorted(str(it.path) for it in items)
    assert all(it.path.is_absolute() for it in items)


def write_csv(path: Path, header: str, rows: list[str], *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(("\ufeff" if bom else "") + "\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def write_dfdc(root: Path, part: str, entries: dict[str, dict], *, files: bool = True) -> None:
    folder = root / part
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(json.dumps(entries))
    if files:
        touch(folder, *entries)


def random_items(rng: random.Random, n_groups: int, *, prefix: str = "g",
                 root: Path = Path("/data")) -> list[MediaItem]:
    items = []
    for g in range(n_groups):
        for k in range(rng.randint(1, 4)):
            label = rng.random() < 0.3
            items.append(MediaItem(path=root / f"{prefix}{g}_{k}.jpg", label=int(label), group=f"{prefix}{g}",
                                   manipulation="m" if label else "none", source="s", media="image"))
    return items


def assert_group_disjoint(splits: dict[str, list[MediaItem]], items: list[MediaItem]) -> None:
    owner: dict[str, str] = {}
    for name, part in splits.items():
        for it in part:
            assert owner.setdefault(it.group, name) == name, f"group {it.group} in {owner[it.group]} and {name}"
    assert sorted(str(it.path) for part in splits.values() for it in part) == sorted(str(it.path) for it in items)


# ------------------------------------------------------------------------------- one tree per layout


@pytest.fixture
def folders_root(tmp_path: Path) -> Path:
    root = tmp_path / "mydata"
    touch(root, "real/007.mp4", "fake/007.mp4", "real/p1/a.png", "fake/p1/b.png", "fake/FaceSwap/x/c.jpg",
          "real/notes.txt", "real/.hidden.mp4", "real/._p1.jpg", "fake/FaceSwap/x/readme.md")
    return root


@pytest.fixture
def ffpp_root(tmp_path: Path) -> Path:
    root = tmp_path / "ffpp"
    touch(root, *(f"original_sequences/youtube/c23/videos/{i}.mp4" for i in ("000", "003", "010", "020", "030")))
    touch(root, "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4",
          "manipulated_sequences/Deepfakes/c23/videos/010_020.mp4",
          "manipulated_sequences/FaceSwap/c23/videos/003_000.mp4",
          "manipulated_sequences/Deepfakes/masks/videos/000_003.mp4",  # masks are not media items
          "manipulated_sequences/NeuralTextures/c40/videos/000_003.mp4",
          "original_sequences/youtube/c40/videos/000.mp4",
          "original_sequences/actors/c23/videos/01__walking.mp4",
          "original_sequences/actors/c23/videos/02__talking.mp4",
          "original_sequences/actors/c23/videos/03__hugging.mp4",
          "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walking__YVGY8LOK.mp4")
    return root


@pytest.fixture
def dfdc_root(tmp_path: Path) -> Path:
    root = tmp_path / "dfdc"
    write_dfdc(root, "dfdc_train_part_0", {
        "aaa.mp4": {"label": "REAL", "split": "train", "original": None},
        "bbb.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"},
        "ccc.mp4": {"label": "FAKE", "split": "train", "original": "ddd.mp4"},
    })
    write_dfdc(root, "dfdc_train_part_1", {"ddd.mp4": {"label": "real", "split": "train", "original": None}})
    return root


@pytest.fixture
def celebdf_root(tmp_path: Path) -> Path:
    root = tmp_path / "Celeb-DF-v2"
    touch(root, "Celeb-real/id0_0000.mp4", "Celeb-real/id1_0000.mp4", "Celeb-real/id2_0001.mp4",
          "Celeb-real/id3_0000.mp4", "Celeb-synthesis/id0_id1_0000.mp4", "Celeb-synthesis/id1_id2_0000.mp4",
          "Celeb-synthesis/id3_id4_0002.mp4", "YouTube-real/00170.mp4", "YouTube-real/00171.mp4")
    # Celeb-DF's own convention: 1 = real, 0 = fake.
    (root / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00170.mp4\n0 Celeb-synthesis/id1_id2_0000.mp4\n1 Celeb-real/id3_0000.mp4\n\n")
    return root


# ------------------------------------------------------------------------------- helpers as fixtures


@pytest.fixture(name="touch", scope="session")
def touch_fixture() -> Callable[..., None]:
    return touch


@pytest.fixture(name="by_name", scope="session")
def by_name_fixture() -> Callable[[list[MediaItem]], dict[str, MediaItem]]:
    return by_name


@pytest.fixture(name="assert_sorted_absolute", scope="session")
def assert_sorted_absolute_fixture() -> Callable[[list[MediaItem]], None]:
    return assert_sorted_absolute


@pytest.fixture(name="write_csv", scope="session")
def write_csv_fixture() -> Callable[..., Path]:
    return write_csv


@pytest.fixture(name="write_dfdc", scope="session")
def write_dfdc_fixture() -> Callable[..., None]:
    return write_dfdc


@pytest.fixture(name="random_items", scope="session")
def random_items_fixture() -> Callable[..., list[MediaItem]]:
    return random_items


@pytest.fixture(name="assert_group_disjoint", scope="session")
def assert_group_disjoint_fixture() -> Callable[[dict[str, list[MediaItem]], list[MediaItem]], None]:
    return assert_group_disjoint
