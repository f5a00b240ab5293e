"""The stores' jobs (django-q2, run in one tenant's schema by tenants.tasks)."""

from __future__ import annotations

import datetime as dt

from tenants.tasks import every_tenant


def writeback_run(writeback_pk: int) -> str:
    """One try of a write-back to a store (and its retry scheduled when it fails)."""
    from stores.services import writeback  # services queue this job: import at run time

    return writeback.run(writeback_pk)


# write-back retries that are due (and any first try whose job was lost)
@every_tenant("write back to stores", "I", 1)
def writebacks_due(now: dt.datetime | None = None) -> int:
    from stores.services import writeback  # services queue this job: import at run time

    return writeback.due(now)


def woocommerce_webhook_process(event_pk: int) -> str:
    """Apply a stored WooCommerce webhook (once, however often it is queued)."""
    from stores.services import woocommerce  # services queue this job: import at run time

    return woocommerce.webhook_event_process(event_pk)


def shopify_webhooks_subscribe(integration_pk: int) -> str:
    """Subscribe an app-installed shop's webhooks (queued by the install)."""
    from stores.services import shopify_app  # services queue this job: import at run time

    return shopify_app.webhooks_subscribe_job(integration_pk)


# shops whose webhook subscription failed (or whose first job was lost), tried again
@every_tenant("subscribe Shopify webhooks", "I", 1)
def shopify_webhooks_due() -> int:
    from stores.services import shopify_app  # services queue this job: import at run time

    return shopify_app.webhooks_due()


# a refresh token unused for 90 days expires: renew the ones of quiet shops in time
@every_tenant("keep Shopify tokens alive", "D")
def shopify_tokens_keep_alive() -> int:
    from stores.services import shopify_admin  # services queue jobs: import at run time

    return shopify_admin.tokens_keep_alive()
