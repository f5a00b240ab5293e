"""The test database's name: one of its own per run (two runs on one machine must not
create, use and drop the same database), the same in every process the run starts, and
TEST_DATABASE_NAME still chooses it."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

#: Prints the test database's name as the settings of a new process have it, then the
#: name a process that one starts has.
PROBE = """
import os, subprocess, sys
import django
django.setup()
from django.conf import settings
print(settings.DATABASES["default"]["TEST"]["NAME"])
child = "import django; django.setup(); from django.conf import settings; "
child += "print(settings.DATABASES['default']['TEST']['NAME'])"
print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                     check=True).stdout.strip())
"""


def _names(**env: str) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_NAME"}
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings_test")
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        cwd=settings.BASE_DIR,
        timeout=120,
    )
    return done.stdout.split()


def test_each_run_has_a_database_of_its_own_and_its_processes_share_it():
    first, second = _names(), _names()
    assert first[0] != second[0]
    for run in (first, second):
        assert run[0].startswith("test_dispatch_")
        # the process it starts uses the same one: the name is exported to it
        assert run == [run[0], run[0]]


def test_test_database_name_still_chooses_it():
    assert _names(TEST_DATABASE_NAME="t_chosen") == ["t_chosen", "t_chosen"]
