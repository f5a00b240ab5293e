"""The product's web process for the benchmarks, started exactly as production starts it
(`bin/dispatch web`: uvicorn), on loopback, and stopped again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback port nothing listens on (until someone binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(
    port: int, env: dict[str, str], log: IO | int = subprocess.DEVNULL
) -> subprocess.Popen:
    """`bin/dispatch web` on 127.0.0.1:`port` with `env`, once its /healthz answers 200."""
    env = {
        **env,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    }
    process = subprocess.Popen(
        [str(ROOT / "bin" / "dispatch"), "web"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web process on {port} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    stop_web(process)
    raise RuntimeError(f"the web process did not answer on {port} within 60 s")


def stop_web(process: subprocess.Popen) -> None:
    """SIGTERM (uvicorn's graceful stop), then SIGKILL after 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def spy_on(pid: int, out: Path, *, seconds: float | None = None) -> subprocess.Popen:
    """py-spy recording process `pid` into `out` (.svg: a flame graph, .txt: collapsed
    stacks, else speedscope JSON), for `seconds` or until it is sent SIGINT."""
    kind = {".svg": "flamegraph", ".txt": "raw"}.get(out.suffix, "speedscope")
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid)]
    command += ["--rate", "50", "--format", kind, "-o", str(out)]
    if seconds is not None:
        command += ["--duration", str(int(seconds))]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
