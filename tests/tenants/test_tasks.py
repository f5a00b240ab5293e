import pytest
from django.db import connection
from django_q.models import Task
from django_q.tasks import result

from tenants.tasks import enqueue_for_tenant


def test_job_runs_in_the_schema_it_was_enqueued_for(alpha, beta):
    task_id = enqueue_for_tenant(
        "tests.jobs.where_am_i", "x", schema_name="beta", q_options={"sync": True}
    )
    outcome = result(task_id)
    assert outcome["schema"] == "beta"
    assert beta.owner_email in outcome["emails"]
    assert alpha.owner_email not in outcome["emails"]
    assert Task.objects.get(id=task_id).name == "beta:where_am_i"
    assert connection.schema_name == "public"  # the worker left the schema again


def test_unknown_schema_is_refused_before_queueing(tenants):
    with pytest.raises(ValueError, match="no schema"):
        enqueue_for_tenant("tests.jobs.where_am_i", "x", schema_name="nope")
