"""Summarises a `mutmut run` (its results under mutants/): per module, mutants by outcome, and the
surviving mutants' names. Usage: python scripts/mutation_summary.py [NAME_GLOB ...]"""

from __future__ import annotations

import fnmatch
import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

OUTCOMES = ["killed", "survived", "timeout", "no tests", "suspicious", "not checked"]


def results(root: Path = Path("mutants")) -> dict[str, str]:
    """{mutant name: outcome} over every module mutmut has results for."""
    found = {}
    for meta in sorted(root.rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            found[name] = status_by_exit_code[code]
    return found


def main(patterns: list[str]) -> None:
    chosen = {
        name: outcome
        for name, outcome in results().items()
        if not patterns or any(fnmatch.fnmatch(name, p) for p in patterns)
    }
    by_module: dict[str, Counter] = {}
    for name, outcome in chosen.items():
        by_module.setdefault(name.rsplit(".", 1)[0], Counter())[outcome] += 1
    print("| module | mutants | " + " | ".join(OUTCOMES) + " |")
    print("|---|---:|" + "---:|" * len(OUTCOMES))
    total = Counter()
    for module, counts in sorted(by_module.items()):
        total += counts
        cells = " | ".join(str(counts[o]) for o in OUTCOMES)
        print(f"| {module} | {sum(counts.values())} | {cells} |")
    cells = " | ".join(str(total[o]) for o in OUTCOMES)
    print(f"| all | {sum(total.values())} | {cells} |")
    survivors = sorted(name for name, outcome in chosen.items() if outcome == "survived")
    print(f"\nsurvived ({len(survivors)}):")
    for name in survivors:
        print(f"  {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
