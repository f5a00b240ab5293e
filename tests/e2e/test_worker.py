"""A real django-q2 worker (ORM broker) runs tenant jobs in the right schema."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests import jobs
from tests.e2e.conftest import ROOT, database_url_of_test_db, wait_until


@contextmanager
def running_worker(**extra_env: str) -> Iterator[subprocess.Popen]:
    """A real `manage.py qcluster` (one worker, ORM broker) on the test database, in a
    process group of its own (so that a test can kill the cluster and its workers)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url_of_test_db(),
        "Q_WORKERS": "1",
        **extra_env,
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.terminate()  # the cluster stops its own workers
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)


def test_worker_process_runs_each_tenants_job_in_its_own_schema(django_db_setup, django_db_blocker):
    from django_q.tasks import result

    from tenants.tasks import enqueue_for_tenant

    alpha, beta = django_db_setup["alpha"], django_db_setup["beta"]
    with django_db_blocker.unblock():
        ids = {
            slug: enqueue_for_tenant(jobs.where_am_i, slug, schema_name=slug)
            for slug in ("alpha", "beta")
        }
    with running_worker(), django_db_blocker.unblock():
        outcomes = wait_until(
            lambda: (
                all(result(task_id) for task_id in ids.values())
                and {slug: result(task_id) for slug, task_id in ids.items()}
            ),
            timeout=60,
            interval=0.5,
        )
    assert outcomes["alpha"]["schema"] == "alpha"
    assert alpha.owner_email in outcomes["alpha"]["emails"]
    assert beta.owner_email not in outcomes["alpha"]["emails"]
    assert outcomes["beta"]["schema"] == "beta"
    assert beta.owner_email in outcomes["beta"]["emails"]


def test_the_optimiser_races_its_engines_inside_a_worker(django_db_setup, django_db_blocker):
    """django-q2 runs tasks in daemonic processes; the race's plain subprocesses work there."""
    from django_q.tasks import result

    from tenants.tasks import enqueue_for_tenant

    with django_db_blocker.unblock():
        task_id = enqueue_for_tenant(jobs.solve_a_line, 5, schema_name="beta")
    with running_worker(), django_db_blocker.unblock():
        outcome = wait_until(lambda: result(task_id), timeout=90, interval=0.5)
    assert outcome["schema"] == "beta"
    assert outcome["engines"] == ["pyvrp", "pyvrp"] and outcome["errors"] == [None, None]
    assert outcome["distance_m"] == 10_000  # out to stop 5 and back
