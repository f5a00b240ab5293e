"""Two answers daphne (and Twisted under it) give before Django sees a request, made the
API's own. Applied by config.asgi, which daphne imports before it serves.

1. Twisted's `http.Request` parses every multipart or form POST body into `request.args`
   before handing the request on (`parsePOSTFormSubmission`), and answers a body it cannot
   parse (no boundary, a broken one) with a bare `400 Bad Request`: no body, no request
   id. daphne never reads `request.args`: the parsing is switched off, so Django parses
   the body once and the API answers its own JSON 400 (with a request id).
2. daphne answers a request it refuses (a header value with control bytes RFC 9110
   forbids, a header name that is not a token) with an HTML page. Under /api/ that page
   becomes the API's JSON error, with a request id that is also logged.

What Twisted's HTTP channel refuses itself (NUL, CR or LF in a header, a request line
that is not ASCII) never becomes a request, so no code here or in daphne can answer it
(tests/e2e/test_malformed_http.py); nginx, in front in production, refuses those itself.
"""

from __future__ import annotations

import json
import logging

from core.observability import request_id_new

logger = logging.getLogger(__name__)


def daphne_answers_like_the_api() -> None:
    """Patch daphne's request class once (nothing happens without daphne)."""
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # another ASGI server: it does not pre-parse bodies
        return
    if getattr(WebRequest, "_dispatch_patched", False):
        return
    init, basic_error = WebRequest.__init__, WebRequest.basic_error

    def __init__(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False  # read by twisted.web.http.Request

    def api_basic_error(self, status: int, status_text: bytes, body: str) -> None:
        if not (getattr(self, "uri", b"") or b"").startswith(b"/api/"):
            basic_error(self, status, status_text, body)
            return
        request_id = request_id_new()
        logger.info(
            "refused by the HTTP server: %s %s",
            status,
            body,
            extra={"request_id": request_id},
        )
        code = {400: "bad_request", 500: "server_error", 503: "unavailable"}.get(status, "error")
        payload = json.dumps({"detail": f"{body}.", "code": code}).encode()
        self.handle_reply(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"Content-Type", b"application/json"),
                    (b"Content-Length", str(len(payload)).encode("ascii")),
                    (b"X-Request-ID", request_id.encode("ascii")),
                ],
            }
        )
        self.handle_reply({"type": "http.response.body", "body": payload})

    WebRequest.__init__ = __init__
    WebRequest.basic_error = api_basic_error
    WebRequest._dispatch_patched = True
