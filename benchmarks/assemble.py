"""Join the benchmark reports in benchmarks/results/ into BENCHMARKS.md.

    python benchmarks/assemble.py [--write BENCHMARKS.md]     (default: print to stdout)

A part whose report is not in ``results/`` (the folder is not committed; ``make bench`` fills
it) is copied from the current BENCHMARKS.md, so the figures of earlier runs stay with the
commands that made them until they are measured again.
"""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
HERE = BENCH / "results"
CURRENT = BENCH.parent / "BENCHMARKS.md"
parts = [
    (None, "opportunity.md"),
    ("## `riskmap run` end to end", "run.md"),
    ("### Hot spots and what to do about them", BENCH / "run_notes.md"),
    ("## Gi* on a lattice against esda", "hotspots.md"),
    ("## Kernel density against scikit-learn", "kde.md"),
    ("### The same with `oversample=1` (what the automatic settings search uses)",
     "kde_oversample1.md"),
    ("## Scoring 1.5 M premises", "scoring.md"),
]
titles = [t for t, _ in parts if t]


def old_section(title):
    """The text of ``title``'s part in the current BENCHMARKS.md (None: the opening part)."""
    if not CURRENT.exists():
        return None
    lines = CURRENT.read_text(encoding="utf-8").splitlines()
    start = 0 if title is None else next((i + 1 for i, ln in enumerate(lines) if ln == title),
                                         None)
    if start is None:
        return None
    end = next((i for i in range(start, len(lines)) if lines[i] in titles), len(lines))
    return "\n".join(lines[start:end]).strip() or None


out = []
for title, name in parts:
    path = name if isinstance(name, Path) else HERE / name
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        text = text.replace("# x86_64", "Machine: x86_64", 1) if title else text
    else:
        text = old_section(title)
        if text is None:
            continue
    out.append(f"{title}\n\n{text}" if title else text)
text = "\n\n".join(out) + "\n"
if sys.argv[1:2] == ["--write"]:  # read the current file first, then replace it
    Path(sys.argv[2]).write_text(text, encoding="utf-8")
else:
    print(text, end="")
