"""Join the benchmark reports in benchmarks/results/ into BENCHMARKS.md (stdout)."""

from pathlib import Path

HERE = Path(__file__).resolve().parent / "results"
parts = [
    (None, "opportunity.md"),
    ("## Gi* on a lattice against esda", "hotspots.md"),
    ("## Kernel density against scikit-learn", "kde.md"),
    ("### The same with `oversample=1` (what the automatic settings search uses)",
     "kde_oversample1.md"),
    ("## Scoring 1.5 M premises", "scoring.md"),
]
out = []
for title, name in parts:
    text = (HERE / name).read_text(encoding="utf-8").strip()
    text = text.replace("# x86_64", "Machine: x86_64", 1) if title else text
    out.append(f"{title}\n\n{text}" if title else text)
print("\n\n".join(out))
