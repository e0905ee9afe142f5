"""SIGKILL in the middle of writing a session: its rows are the old set or the new set, never a mix."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from dual_ticker.storage.database import connect
from dual_ticker_tests.support.pipeline import contract_rows, materialize

WRITER = textwrap.dedent("""
    import sys, itertools
    import pandas as pd
    from dual_ticker.calendar.windows import session_window
    from dual_ticker.storage import contract_bars
    from dual_ticker.storage.database import connect
    url, folder, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    sets = [pd.read_csv(f"{folder}/{n}.csv", parse_dates=["timestamp"]) for n in (0, 1)]
    day = pd.Timestamp("2020-12-10")
    windows = {"2020-12-10": session_window(day, pd.Timestamp("2020-12-10 21:00", tz="UTC"))}
    connection = connect(url)
    for number in itertools.count():
        rows = sets[number % 2].assign(session="2020-12-10")
        with connection:
            contract_bars.stage(connection, rows, ["2020-12-10"], None)
            contract_bars.publish(connection, windows, ["NVDA", "MSFT"])
            if mode == "hold":
                print("WRITTEN", flush=True)  # inside the transaction, before commit
                sys.stdin.readline()
        if mode == "loop" and number == 0:
            print("LOOPING", flush=True)
""")


def _two_versions(url, settings, tmp_path):
    assert materialize(url, settings, "2020-12-10").success
    old = contract_rows(url)
    new = old.copy()
    new["close"] = (new["close"].astype(float) * 1.01).round(4)  # every row differs
    new["high"] = np.maximum(new["high"].astype(float), new["close"])
    for number, rows in enumerate((old, new)):
        rows.drop(columns="created_at").to_csv(tmp_path / f"{number}.csv", index=False)
    return old, new, tmp_path


def _closes(url):
    return contract_rows(url)["close"].astype(float).round(4).tolist()


def _spawn(url, path, mode):
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(path), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_kill_before_commit_leaves_the_old_rows(embedded_database, settings, tmp_path):
    old, new, path = _two_versions(embedded_database, settings, tmp_path)
    writer = _spawn(embedded_database, path, "hold")
    assert writer.stdout.readline().strip() == "WRITTEN"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(10)
    assert _closes(embedded_database) == old["close"].astype(float).round(4).tolist()


def test_kill_at_random_moments_never_leaves_a_mix(embedded_database, settings, tmp_path):
    old, new, path = _two_versions(embedded_database, settings, tmp_path)
    versions = [
        old["close"].astype(float).round(4).tolist(),
        new["close"].astype(float).round(4).tolist(),
    ]
    rng = np.random.default_rng(11)
    for _ in range(6):
        writer = _spawn(embedded_database, path, "loop")
        assert writer.stdout.readline().strip() == "LOOPING"
        time.sleep(float(rng.uniform(0.0, 0.4)))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
        # The server rolls back the dead connection's transaction.
        connection = connect(embedded_database)
        connection.close()
        assert _closes(embedded_database) in versions
