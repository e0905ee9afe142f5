"""A process that loaded the code location skips the collector's passes at exit (they cost 0.8 s
after a year's backfill, docs/BENCHMARKS.md): cyclic garbage left at exit is not collected, while
atexit handlers still run."""

from __future__ import annotations

import subprocess
import sys

from dual_ticker.settings import PROJECT_ROOT

PROGRAM = """
import atexit, gc, sys
{imports}
class Node:
    def __del__(self):
        sys.stdout.write("collected\\n")
        sys.stdout.flush()
def cycle():
    node = Node()
    node.self = node
gc.disable()  # the garbage waits for the collection at exit
cycle()
atexit.register(lambda: sys.stdout.write("atexit ran\\n"))
"""


def _exit_output(imports: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(imports=imports)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def test_the_code_location_exits_without_collecting():
    plain = _exit_output("")
    assert "collected" in plain and "atexit ran" in plain  # what CPython does by itself

    loaded = _exit_output("import dual_ticker.definitions")
    assert "atexit ran" in loaded
    assert "collected" not in loaded
