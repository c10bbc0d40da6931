"""``python -m training.data.sources {add,build,table}``: record, rebuild and count the public sources."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from detector.errors import ConfigError

from .mirror import GitMirror, find_mirror
from .rows import FAMILIES, MANIFEST_DIR, manifest_name, read_all, read_manifest, write_manifest
from .rules import SourceRules

DEFAULT_MIRRORS = "/work/.mirror"
DEFAULT_SHARED = "../shared/data"


def _add(args: argparse.Namespace) -> int:
    from .select import Choice, face_finder, select

    family = args.family or ("real" if args.label == "real" else None)
    if family is None or family not in FAMILIES:
        raise ConfigError(f"--family is required for fakes, one of {FAMILIES[1:]}")
    rules = SourceRules.load(args.shared)
    mirror = GitMirror(find_mirror(args.mirrors, args.repo))
    commit = args.commit or mirror.head()
    choice = Choice(label=args.label, family=family, kind=args.kind, generator=args.generator or "",
                    licence=args.licence)
    out = Path(args.manifests) / manifest_name(args.repo)
    old = read_manifest(out) if out.is_file() else []
    taken = {r.path for r in old}
    rows = select(mirror, args.repo, commit, choice, include=args.include, exclude=args.exclude, skip=taken,
                  limit=args.limit, rules=rules, has_face=face_finder() if args.faces else None)
    write_manifest(out, [*old, *rows])
    print(f"{out}: +{len(rows)} rows ({len(old) + len(rows)} in all), commit {commit}")
    return 0


def _table(args: argparse.Namespace) -> int:
    from .table import counts_table

    print(counts_table(read_all(args.manifests)))
    return 0


def _build(args: argparse.Namespace) -> int:
    from .build import build

    report = build(args.out, mirrors=args.mirrors, shared=args.shared, manifests=args.manifests)
    print(report.summary())
    return 0 if not report.refused else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.data.sources", description=__doc__)
    parser.add_argument("--manifests", default=str(MANIFEST_DIR), help="folder of source manifests")
    parser.add_argument("--shared", default=DEFAULT_SHARED, help="shared/data (reserved list, eval to dedup against)")
    parser.add_argument("--mirrors", default=DEFAULT_MIRRORS, help="folder of bare git mirrors")
    sub = parser.add_subparsers(dest="command", required=True)

    add = sub.add_parser("add", help="record files of a mirrored repository in its source manifest")
    add.add_argument("repo", help="owner/name")
    add.add_argument("--commit", help="default: the mirror's HEAD")
    add.add_argument("--include", action="append", required=True, help="glob over tree paths (repeatable)")
    add.add_argument("--exclude", action="append", default=[], help="glob to leave out (repeatable)")
    add.add_argument("--label", choices=("real", "fake"), required=True)
    add.add_argument("--family", help="real, swap, reenactment or synthetic (reals: real)")
    add.add_argument("--kind", required=True, help="what the files were chosen for (see rows.REAL_KINDS/FAKE_KINDS)")
    add.add_argument("--generator", default="", help="generator or tool of fakes ('unknown' if unstated)")
    add.add_argument("--licence", required=True)
    add.add_argument("--limit", type=int, help="at most this many files (a reproducible spread)")
    add.add_argument("--faces", action="store_true", help="keep only images with a face the scan finds")
    add.set_defaults(run=_add)

    table = sub.add_parser("table", help="counts per source and kind (the README table)")
    table.set_defaults(run=_table)

    build = sub.add_parser("build", help="materialise every manifest from the mirrors, checked")
    build.add_argument("--out", required=True, help="folder to write media and MANIFEST.csv into")
    build.set_defaults(run=_build)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.run(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
