"""The breadth table: how many files each source gives, by label and kind (for ``training/README.md``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .rows import SourceRow


def counts_table(rows: Sequence[SourceRow]) -> str:
    """A Markdown table, one line per source, then totals per kind."""
    per_source: dict[str, Counter[str]] = {}
    licences: dict[str, set[str]] = {}
    for row in rows:
        per_source.setdefault(row.repo, Counter())[f"{row.label}:{row.kind}"] += 1
        licences.setdefault(row.repo, set()).add(row.licence)
    lines = ["| source | files | label: kind (count) | licence |", "|---|---:|---|---|"]
    for repo in sorted(per_source, key=str.lower):
        kinds = ", ".join(f"{k} ({n})" for k, n in sorted(per_source[repo].items()))
        lines.append(f"| `{repo}` | {sum(per_source[repo].values())} | {kinds} | {'; '.join(sorted(licences[repo]))} |")
    totals = Counter(f"{r.label}:{r.kind}" for r in rows)
    lines += ["", "| label: kind | files | sources |", "|---|---:|---:|"]
    for key in sorted(totals):
        sources = len({r.repo for r in rows if f"{r.label}:{r.kind}" == key})
        lines.append(f"| {key} | {totals[key]} | {sources} |")
    lines.append(f"| **all** | {len(rows)} | {len(per_source)} |")
    return "\n".join(lines)
