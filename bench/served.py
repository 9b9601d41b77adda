"""``ansinh serve`` in a process of its own, for the benchmarks that measure the server over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(env: dict, *, workers: int = 1, command: list[str] | None = None) -> Iterator[str]:
    """The server started with ``env`` on a free port of the loopback, once ``/health`` answers; yields its base
    URL and stops it afterwards. ``command``: another server than ``ansinh serve`` taking the same ``--host``,
    ``--port`` and ``--workers`` (the bare peer of the cards benchmark, ``bench.bare_app``)."""
    with served_process(env, workers=workers, command=command) as (base, _):
        yield base


@contextmanager
def served_process(env: dict, *, workers: int = 1,
                   command: list[str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """As :func:`served`, also yielding the server's process (to read its memory)."""
    port = free_port()
    command = command or [str(Path(sys.executable).with_name("ansinh")), "serve"]
    # stderr to nothing: a pipe nobody reads fills up with log lines, and then the server waits on it
    server = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=60)
