"""The package shows its architecture: Dagster only in orchestration/ (and definitions.py)."""

import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dual_ticker"
DAGSTER_HOMES = ("dual_ticker.orchestration", "dual_ticker.definitions")
ENTRY_SCRIPTS = {"dual_ticker.__main__"}  # runs the CLI when imported


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not name.startswith(DAGSTER_HOMES) and name not in ENTRY_SCRIPTS:
            names.append(name)
    return names


PROBE = """
import importlib, json, sys
leaked = {}
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "dagster" in sys.modules:
        leaked[name] = True
        break
print(json.dumps(sorted(leaked)))
"""


def test_no_module_outside_orchestration_imports_dagster():
    modules = _modules()
    assert "dual_ticker.monitoring.app" in modules and "dual_ticker.pipeline.steps" in modules
    # A fresh interpreter imports them one by one: the first import after which dagster is loaded
    # is the module that pulled it in.
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *modules], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []


def test_every_dagster_import_is_under_orchestration():
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("orchestration/") or relative == "definitions.py":
            continue
        text = path.read_text()
        assert "import dagster" not in text and "from dagster" not in text, relative
