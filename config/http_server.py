"""The web process's HTTP protocol: uvicorn's httptools protocol, with the one answer it
gives before Django sees a request made the API's own.

`bin/dispatch web` runs uvicorn with `--http config.http_server:ApiHttpToolsProtocol`.
A request the HTTP parser (llhttp) refuses (a control byte in a header value, a header
name that is not a token, a request line that is not HTTP) never reaches Django: uvicorn
answers it with a plain-text 400 and hangs up. Under /api/ that answer becomes the API's
JSON error, with a request id that is also logged, when the parser got as far as the path
(it reads the request line before the headers). A request line too broken to give a path
keeps uvicorn's plain answer; nginx, in front in production, refuses those itself.

uvicorn does not parse bodies itself, so a broken multipart body reaches Django, and the
API answers its own JSON 400 (tests/e2e/test_malformed_http.py).
"""

from __future__ import annotations

import json
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from core.observability import request_id_new

logger = logging.getLogger(__name__)


class ApiHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; what its parser refuses under /api/ is answered in JSON."""

    def send_400_response(self, msg: str) -> None:
        path = getattr(self, "url", b"") or b""
        if not path.startswith(b"/api/"):
            super().send_400_response(msg)
            return
        request_id = request_id_new()
        logger.info("refused by the HTTP server: 400 %s", msg, extra={"request_id": request_id})
        payload = json.dumps({"detail": msg, "code": "bad_request"}).encode()
        head = (
            "HTTP/1.1 400 Bad Request\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n"
            f"x-request-id: {request_id}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + payload)
        self.transport.close()
