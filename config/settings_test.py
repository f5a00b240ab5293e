"""Test settings: the real PostgreSQL (a local server when one listens, else embedded)."""

import os
import secrets
from pathlib import Path

from config.database import database_url
from config.test_clock import start_from_environment

# First of all: the clock of this run (TEST_CLOCK, config/test_clock.py), the same in the
# test process and in every server, worker and scheduler process it starts.
start_from_environment()

# Decide the server before the main settings read DATABASE_URL, so that a test run on a
# machine with PostgreSQL on 127.0.0.1:5432 does not also start the embedded one.
os.environ["DATABASE_URL"] = database_url(prefer_local_server=True)
os.environ.setdefault("DEBUG", "1")
# Every test signs up from 127.0.0.1 in one cache: the tests of the sign-up limits set
# their own small rates.
os.environ.setdefault("SIGNUP_RATE", "100000/hour")
os.environ.setdefault("SIGNUP_GLOBAL_RATE", "100000/hour")
# Likewise the drivers' (fuzzing sends hundreds of a driver's stop events in a minute).
os.environ.setdefault("DRIVER_HTTP_RATE", "100000/min")

from config.settings import *  # noqa: E402, F403 - after the clock and the database
from config.settings import DATABASES  # noqa: E402

# A name of this run's own (two runs on one machine must not drop each other's database),
# kept in the environment so that the processes the run starts (servers, workers, xdist's
# workers, which add their own suffix) agree on it; TEST_DATABASE_NAME chooses one.
os.environ.setdefault("TEST_DATABASE_NAME", f"test_dispatch_{os.getpid()}_{secrets.token_hex(3)}")
DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

# Fast hashing: tests create many users; production keeps Django's PBKDF2 default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In memory, unless a test's server processes are given a real SMTP server to talk to.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

# No calls to a public geocoder from tests: tests that geocode start a local fake server.
GEOCODER = os.environ.get("GEOCODER", "none")
# the nightly plan's budget: the tests' days are a handful of orders
AUTO_PLAN_SECONDS = float(os.environ.get("AUTO_PLAN_SECONDS", "1"))
# Q_SYNC=1 (set for the end-to-end servers) runs queued jobs inline, inside the request.
Q_CLUSTER = {**Q_CLUSTER, "sync": os.environ.get("Q_SYNC") == "1"}  # noqa: F405
# Proof-of-delivery files from tests (and the end-to-end servers) stay out of media/.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / ".data" / "media-test"))  # noqa: F405
# Road regions built by tests (the demo's) stay out of the developer's own .data/roads;
# tests that plan on roads build theirs in a temporary folder (tests/conftest.py).
ROADS_DIR = Path(os.environ.get("ROADS_DIR", BASE_DIR / ".data" / "roads-test"))  # noqa: F405
