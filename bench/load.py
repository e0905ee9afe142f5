"""Open-loop HTTP load on the sidecar from one asyncio loop: requests at fixed send times on a
pool of keep-alive connections, so a slow answer shows up as latency, not as fewer requests."""

from __future__ import annotations

import asyncio

from bench.percentiles import stats_ms
from bench.sidecar_process import PATH, REQUEST_TIMEOUT_SECONDS


async def open_loop(port: int, rate: float, seconds: float) -> dict:
    """Requests at fixed scheduled times (i / rate), each timed from its scheduled time to the end
    of its response, on a pool of keep-alive connections: a slow answer delays nothing else, so
    queueing shows up in the latencies (no coordinated omission)."""
    loop = asyncio.get_running_loop()
    request = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    idle: list = []
    latencies: list[float] = []
    errors: dict[str, int] = {}
    opened = reconnects = 0
    start = loop.time() + 0.2

    async def exchange(connection) -> int:
        reader, writer = connection
        writer.write(request)
        first = await reader.readline()
        if not first:  # the server closed this idle keep-alive connection (its keep-alive timeout)
            raise ConnectionResetError("keep-alive connection closed by the server")
        status = int(first.split()[1])
        length, closing = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            closing |= name.lower() == "connection" and "close" in value.lower()
        await reader.readexactly(length)
        return status if not closing else -status

    async def send(connection) -> tuple[int, tuple]:
        """On a pooled connection the server may have closed meanwhile, retry once on a new one
        (as HTTP clients do for idempotent requests); the latency keeps counting."""
        nonlocal opened, reconnects
        if connection is not None:
            try:
                return await asyncio.wait_for(
                    exchange(connection), REQUEST_TIMEOUT_SECONDS
                ), connection
            except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError):
                connection[1].close()
                reconnects += 1
        opened += 1
        connection = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(exchange(connection), REQUEST_TIMEOUT_SECONDS), connection
        except BaseException:
            connection[1].close()
            raise

    async def one(i: int) -> None:
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        connection = idle.pop() if idle else None
        try:
            status, connection = await send(connection)
            latencies.append(loop.time() - scheduled)
            if abs(status) != 200:
                errors[f"http_{abs(status)}"] = errors.get(f"http_{abs(status)}", 0) + 1
            if status > 0:
                idle.append(connection)
            else:
                connection[1].close()
        except (
            TimeoutError,
            OSError,
            asyncio.IncompleteReadError,
            ValueError,
            IndexError,
        ) as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1

    await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
    elapsed = loop.time() - start
    for _, writer in idle:
        writer.close()
    return {
        "requests": int(rate * seconds),
        "answered": len(latencies),
        "errors": errors,
        "achieved_rate": round(len(latencies) / elapsed, 1),
        "connections_opened": opened,
        "stale_keepalive_retries": reconnects,
        "latency_ms": stats_ms(latencies) if latencies else None,
    }
