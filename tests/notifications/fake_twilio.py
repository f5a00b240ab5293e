"""A local stand-in for Twilio's Messages endpoint, for the real `twilio` client: it
answers like Twilio (201 with a message resource; errors as Twilio's JSON; the message list
newest first, filtered by `To`, without the status callback, as Twilio's) and keeps every
request it got. `list_lag`: a new message shows in the list only after that many list
calls (Twilio's list lags behind the messages it has)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeTwilio:
    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []
        self.failures: list[tuple[int, int]] = []  # (HTTP status, Twilio code), used in turn
        self.auth: list[str] = []
        self._ids = itertools.count(1)
        self.hold = threading.Event()  # set: take the message, then answer only on release
        self.release = threading.Event()
        self.list_lag = 0
        self.list_calls = 0

    def fail_next(self, status: int, code: int) -> None:
        self.failures.append((status, code))


@contextmanager
def running_fake_twilio() -> Iterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            fake.auth.append(self.headers.get("Authorization", ""))
            if not self.path.endswith("/Messages.json"):
                return self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
            if fake.failures:
                status, code = fake.failures.pop(0)
                return self._answer(
                    status,
                    {"code": code, "message": f"error {code}", "more_info": "", "status": status},
                )
            form["sid"] = f"SM{next(fake._ids):032d}"
            form["date_created"] = formatdate(usegmt=True)  # RFC 2822, as Twilio writes it
            form["listed_from_call"] = str(fake.list_calls + fake.list_lag + 1)
            fake.messages.append(form)
            if fake.hold.is_set():  # the message is with the provider; the answer is late
                fake.release.wait(timeout=60)
            self._answer(201, self._resource(form))

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if not url.path.endswith("/Messages.json"):
                return self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            fake.list_calls += 1
            found = [
                self._resource(m)
                for m in reversed(fake.messages)
                if ("To" not in query or m.get("To") == query["To"])
                and int(m["listed_from_call"]) <= fake.list_calls
            ]
            self._answer(
                200,
                {
                    "messages": found,
                    "page": 0,
                    "page_size": 50,
                    "start": 0,
                    "end": len(found),
                    "uri": url.path,
                    "first_page_uri": url.path,
                    "next_page_uri": None,
                    "previous_page_uri": None,
                },
            )

        @staticmethod
        def _resource(form: dict) -> dict:
            return {
                "sid": form["sid"],
                "status": "queued",
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "date_created": form["date_created"],
            }

        def _answer(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def twilio_pointed_at_fake(
    settings, *, token: str, account: str = "AC" + "0" * 32, callbacks: bool = True
) -> Iterator[FakeTwilio]:
    """The real `twilio` client sending to a running fake (SMS_BACKEND "twilio"), its
    webhooks signed with `token`; with `callbacks`, status callbacks to the tenant's host."""
    with running_fake_twilio() as (fake, url):
        settings.SMS_BACKEND = "twilio"
        settings.TWILIO_ACCOUNT_SID = account
        settings.TWILIO_AUTH_TOKEN = token
        settings.TWILIO_FROM = "+447700900000"
        settings.TWILIO_API_URL = url
        if callbacks:
            settings.TWILIO_CALLBACK_BASE = "https://{host}"
        yield fake
