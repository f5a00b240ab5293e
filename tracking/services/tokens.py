"""Driver tokens: what the driver app presents on its websocket and batch endpoint.

A token is signed with SECRET_KEY and names the tenant's schema, the driver and the user
it was issued to; it expires after DRIVER_TOKEN_MAX_AGE_S. A token is good only on its
own tenant's host, for a driver still linked to that user.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

_SALT = "tracking.driver-token"


@dataclass(frozen=True)
class DriverClaim:
    schema: str
    driver_id: int
    user_id: int


class BadToken(Exception):
    """Missing, forged, expired or for another tenant."""


def driver_token(*, schema: str, driver_id: int, user_id: int) -> str:
    return signing.dumps({"s": schema, "d": driver_id, "u": user_id}, salt=_SALT, compress=True)


def read_driver_token(token: str | None, *, schema: str) -> DriverClaim:
    """The claim of a valid token issued for `schema`; raises BadToken otherwise."""
    if not token:
        raise BadToken("no token")
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.DRIVER_TOKEN_MAX_AGE_S)
    except signing.SignatureExpired as exc:
        raise BadToken("expired") from exc
    except signing.BadSignature as exc:
        raise BadToken("invalid") from exc
    if data.get("s") != schema:
        raise BadToken("another tenant's token")
    return DriverClaim(schema=data["s"], driver_id=int(data["d"]), user_id=int(data["u"]))
