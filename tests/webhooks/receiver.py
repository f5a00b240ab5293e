"""A real HTTP receiver on loopback for webhook tests: it records every request (headers
and body) and answers from a script of statuses (a redirect when told where to)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receiver:
    url: str = ""
    requests: list[dict] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # used in turn; then 200
    redirect_to: str = ""
    body: bytes = b"a secret the receiver's answer must never leak"


@contextmanager
def running_receiver(host: str = "127.0.0.1") -> Iterator[Receiver]:
    receiver = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            with lock:
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": self.rfile.read(length).decode(),
                    }
                )
                status = receiver.answers.pop(0) if receiver.answers else 200
            if receiver.redirect_to:
                status = 302
            self.send_response(status)
            if receiver.redirect_to:
                self.send_header("Location", receiver.redirect_to)
            self.send_header("Content-Length", str(len(receiver.body)))
            self.end_headers()
            self.wfile.write(receiver.body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://{host}:{server.server_address[1]}/hooks"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
