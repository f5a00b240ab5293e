"""The Authorization header is parsed strictly (issue 22): `Bearer <api key>` and
`Driver <token>` are the scheme (any case), ONE ASCII space, then the credential in its own
alphabet. Anything else is a 401 with the API's JSON error, never a 500 and never accepted:
Unicode whitespace (`\\xa0`, `\\x1f`) is not a separator, and a header of only whitespace
is not a missing one."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from tests.conftest import api_client
from tests.tracking.helpers import ago
from tests.tracking.test_tracking_api import PINGS, item, linked_driver

ORDERS = "/api/v1/orders"

#: Whitespace and control characters that str.split() and friends treat as separators.
ODD = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x00", "\x1c", "\x1d", "\x1e", "\x1f"]
ODD += ["\x7f", "\x85", "\xa0", "\xad"]
odd_chars = st.sampled_from(ODD)
latin1_chars = st.one_of(odd_chars, st.characters(codec="latin-1"))

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def refused(response) -> bool:
    """A 401 in the API's JSON error shape, with the challenge DRF sends."""
    assert response.status_code == 401, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    assert response["WWW-Authenticate"]
    return True


def malformed(credential: str) -> list[str]:
    """Near misses of `Bearer <credential>` / `Driver <credential>` (the scheme is `{}`)."""
    return [
        "{}\xa0" + credential,
        "{}\t" + credential,
        "{}  " + credential,
        "{}\x1f" + credential,
        " {} " + credential,
        "{} " + credential + " ",
        "{} " + credential + "\xa0",
        "{} " + credential + "\n",
        "{} " + credential + "junk",
        "{} " + credential + " junk",
        "{} " + credential + "é",
        "{} é" + credential,
        "{}:" + credential,
        "{}",
        "{} ",
    ]


#: Headers that name no credential at all.
EMPTYISH = ["", " ", "   ", "\xa0", "\x1f", "\t", "\xa0\x1f ", "é", "Bearer\xa0", "\u2003"]


# --- Bearer <api key> -----------------------------------------------------------------


def keyed_get(host: str, header: str):
    return api_client(host).get(ORDERS, HTTP_AUTHORIZATION=header)


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_exact_bearer_form_is_accepted(alpha, scheme):
    assert keyed_get(alpha.host, f"{scheme} {alpha.api_key}").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("header", EMPTYISH)
def test_a_header_of_whitespace_or_nothing_is_a_401_not_a_500(alpha, header):
    assert refused(keyed_get(alpha.host, header))


@pytest.mark.django_db
@pytest.mark.parametrize("template", malformed("{key}"))
def test_a_near_miss_of_the_bearer_form_is_refused(alpha, template):
    header = template.format("Bearer", key=alpha.api_key)
    assert refused(keyed_get(alpha.host, header))


@pytest.mark.django_db
def test_a_key_of_non_ascii_look_alikes_is_refused(alpha):
    lookalike = alpha.api_key.replace("_", "\uff3f")  # fullwidth low line
    assert refused(keyed_get(alpha.host, f"Bearer {lookalike}"))
    assert refused(keyed_get(alpha.host, f"Bearer {alpha.api_key[:-1]}\xe9"))


@dataclass(frozen=True)
class Header:
    """A generated header, with the real credential placed in it (or not)."""

    before: str
    scheme: str
    separator: str
    with_credential: bool
    after: str

    def value(self, credential: str) -> str:
        middle = credential if self.with_credential else ""
        return self.before + self.scheme + self.separator + middle + self.after


def headers(schemes: list[str]) -> st.SearchStrategy[Header]:
    junk = st.text(latin1_chars, max_size=3)
    return st.one_of(
        # any latin-1 text at all
        st.builds(
            Header,
            st.text(latin1_chars, max_size=30),
            st.just(""),
            st.just(""),
            st.just(False),
            st.just(""),
        ),
        # the real credential, with odd characters around it
        st.builds(
            Header,
            before=st.one_of(st.just(""), junk),
            scheme=st.sampled_from(schemes),
            separator=st.one_of(st.just(" "), st.text(odd_chars, max_size=3)),
            with_credential=st.booleans(),
            after=st.one_of(st.just(""), junk),
        ),
    )


def is_exact(value: str, scheme: str, credential: str) -> bool:
    n = len(scheme)
    return value[:n].lower() == scheme.lower() and value[n:] == " " + credential


BEARER_SCHEMES = ["Bearer", "bearer", "BEARER", "BeArEr", "Bearer\xa0", "Bearerx", "Basic", ""]


@pytest.mark.django_db
@FUZZ
@given(header=headers(BEARER_SCHEMES))
@example(header=Header("", "Bearer", " ", True, ""))
@example(header=Header("", "Bearer", "\xa0", True, ""))
def test_a_bearer_header_is_accepted_only_in_its_exact_form(alpha, header):
    value = header.value(alpha.api_key)
    note(repr(value))
    response = keyed_get(alpha.host, value)
    if is_exact(value, "Bearer", alpha.api_key):
        assert response.status_code == 200, response.content[:300]
    else:
        assert refused(response)


# --- Driver <token> on the phone's endpoint -------------------------------------------


def ping(host: str, header: str):
    client = api_client(host)
    return client.post(
        PINGS, {"fixes": [item(ago(minutes=1))]}, format="json", HTTP_AUTHORIZATION=header
    )


@pytest.fixture
def token(alpha) -> str:
    """A signed-in, on-duty driver of alpha: their token."""
    return linked_driver(alpha)[1]


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["Driver", "driver", "DRIVER"])
def test_the_exact_driver_form_is_accepted(alpha, token, scheme):
    assert ping(alpha.host, f"{scheme} {token}").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("header", [*EMPTYISH, "Driver\xa0"])
def test_a_driver_header_of_whitespace_or_nothing_is_a_401_not_a_500(alpha, token, header):
    assert refused(ping(alpha.host, header))


@pytest.mark.django_db
@pytest.mark.parametrize("template", malformed("{token}"))
def test_a_near_miss_of_the_driver_form_is_refused(alpha, token, template):
    assert refused(ping(alpha.host, template.format("Driver", token=token)))


DRIVER_SCHEMES = ["Driver", "driver", "DRIVER", "dRiVeR", "Driver\xa0", "Driverx", "Bearer", ""]


@pytest.mark.django_db
@FUZZ
@given(header=headers(DRIVER_SCHEMES))
@example(header=Header("", "Driver", " ", True, ""))
@example(header=Header("", "Driver", "\xa0", True, ""))
def test_a_driver_header_is_accepted_only_in_its_exact_form(alpha, token, header):
    value = header.value(token)
    note(repr(value))
    response = ping(alpha.host, value)
    if is_exact(value, "Driver", token):
        assert response.status_code == 200, response.content[:300]
    else:
        assert refused(response)
