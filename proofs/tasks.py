"""Proofs' jobs (django-q2, run in one tenant's schema by tenants.tasks)."""

from __future__ import annotations

from proofs.services import proof as services
from tenants.tasks import every_tenant


@every_tenant("purge old proof of delivery", "D")
def proofs_purge() -> int:
    """Nightly: old proof loses its pictures, recipient's name and notes."""
    return services.proofs_purge()
