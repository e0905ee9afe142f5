"""Fixtures of the monitoring tests: the sidecar served by uvicorn on a free loopback port, a real
Dagster instance whose storage is the test database, and replay data that blocks a session."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import uvicorn

from dual_ticker_tests.support.pipeline import recorded, write_replay

AFTER_CLOSE = pd.Timestamp("2020-12-01T21:30Z")  # 16:30 New York, the session complete
BLOCKED_SESSION = "2020-12-02"


@pytest.fixture
def serve():
    """serve(app) -> base URL: runs the app under uvicorn in a thread until the test ends."""
    running = []

    def start(app) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start within 10 s"
        running.append((server, thread, listener))
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for server, thread, listener in running:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def missing_minutes_replay(folder: Path, minutes: int, session: str = BLOCKED_SESSION) -> Path:
    """The recorded month with `minutes` regular-session MSFT minutes of the session removed
    (40 of 390 exceed the 5% block limit; 10 land between the 2% warning and the limit)."""
    frames = {symbol: recorded(symbol) for symbol in ("NVDA", "MSFT")}
    msft = frames["MSFT"]
    stamps = pd.to_datetime(msft["timestamp"])
    in_session = (
        (stamps.dt.strftime("%Y-%m-%d") == session)
        & (stamps.dt.strftime("%H:%M") >= "10:00")
        & (stamps.dt.strftime("%H:%M") < "15:00")
    )
    frames["MSFT"] = msft.drop(msft.index[in_session][:minutes])
    return write_replay(folder, frames)
