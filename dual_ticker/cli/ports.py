"""The ports `make run` listens on, checked before anything starts so a taken one stops it whole."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass


class PortUnavailable(RuntimeError):
    """A port the stack needs cannot be listened on; the message says how to pick another."""


@dataclass(frozen=True)
class Listener:
    what: str  # "Dagster UI", "monitoring sidecar"
    host: str
    port: int
    change_with: str  # the flag or variable that picks another port


def unavailable(listener: Listener) -> str | None:
    """Why `listener` could not bind its port now, or None when it could.

    Binds as uvicorn does (SO_REUSEADDR), so a port left in TIME_WAIT counts as free and a
    listening socket as taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((listener.host, listener.port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return "in use"
            return f"not available ({error.strerror or error})"
    return None


def require_free(listeners: list[Listener]) -> None:
    """Raises PortUnavailable naming the first port that cannot be listened on."""
    for listener in listeners:
        reason = unavailable(listener)
        if reason is not None:
            raise PortUnavailable(
                f"port {listener.port} on {listener.host} ({listener.what}) is {reason}: "
                f"free it or choose another with {listener.change_with}"
            )
