"""Whether a business's plans and ETAs use what was learned from its own drivers
(`routing.services.corrections`): the owner's switch on the Learned times page."""

from __future__ import annotations

from django.db import transaction
from django_tenants.utils import schema_context

from audit.services import record
from tenants.models import Tenant


@transaction.atomic
def tenant_learning_set(*, tenant: Tenant, use_learned_times: bool) -> Tenant:
    """Turn the learned travel and door times on or off for `tenant`'s new plans and live
    ETAs (the learning itself goes on either way, so turning it back on loses nothing).
    Audited when it changes; setting it to what it is already changes nothing."""
    use = bool(use_learned_times)
    if tenant.use_learned_times == use:
        return tenant
    tenant.use_learned_times = use
    tenant.save(update_fields=["use_learned_times"])
    with schema_context(tenant.schema_name):
        record("settings.changed", target="learned times", use_learned_times=use)
    return tenant
