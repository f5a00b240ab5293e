"""Orders (one delivery each) and their recorded status history."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.i18n import validate_language
from dispatch.models.base import Address, TimeStamped, validate_e164


class OrderStatus(models.TextChoices):
    UNASSIGNED = "unassigned", _("Unassigned")
    PLANNED = "planned", _("Planned")
    DISPATCHED = "dispatched", _("Dispatched")
    EN_ROUTE = "en_route", _("En route")
    ARRIVED = "arrived", _("Arrived")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


FINAL_STATUSES = frozenset({OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.CANCELLED})


class Order(Address, TimeStamped):
    class Kind(models.TextChoices):
        DELIVERY = "delivery", _("Delivery")
        PICKUP = "pickup", _("Pickup")

    class Source(models.TextChoices):
        API = "api", _("API")
        CSV = "csv", _("CSV import")
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        DASHBOARD = "dashboard", _("Dashboard")
        RECURRING = "recurring", _("Recurring schedule")

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    class GeocodeStatus(models.TextChoices):
        PROVIDED = "provided", _("Coordinates provided")
        PENDING = "pending", _("Waiting to be geocoded")
        OK = "ok", _("Geocoded")
        FAILED = "failed", _("Needs a location")

    external_id = models.CharField(
        max_length=100, blank=True, help_text="The order's id in the system it came from."
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    customer_name = models.CharField(max_length=150)
    customer_phone = models.CharField(max_length=20, blank=True, validators=[validate_e164])
    customer_email = models.EmailField(blank=True)
    # blank: the tenant's default language (core.i18n.order_language); the customer's
    # messages and tracking page are in this language
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        default="",
        validators=[validate_language],
        help_text=_("The customer's language; blank: the business's language."),
    )
    geocode_status = models.CharField(
        max_length=16, choices=GeocodeStatus.choices, default=GeocodeStatus.PENDING
    )
    geocode_error = models.CharField(max_length=200, blank=True)
    delivery_date = models.DateField(
        db_index=True,
        null=True,
        blank=True,
        help_text="Empty: the order needs a date (the store's could not be read); it is on "
        "no day and in no plan until the dispatcher gives it one.",
    )
    delivery_date_as_written = models.CharField(
        max_length=100,
        blank=True,
        help_text="The delivery date as the store or the file wrote it, when it could not "
        "be read (shown to the dispatcher who gives the order its date).",
    )
    latest_date = models.DateField(
        null=True,
        blank=True,
        help_text="The last day it may be delivered on. Empty: only on its delivery date. "
        "Multi-day planning chooses a day from the delivery date to this one.",
    )
    kind = models.CharField(
        max_length=16,
        choices=Kind.choices,
        default=Kind.DELIVERY,
        help_text="A pickup is the first half of a pickup-and-delivery pair "
        "(`PickupDelivery`): the same driver collects it here, then delivers its partner.",
    )
    time_windows = models.JSONField(
        default=list,
        blank=True,
        help_text='Local times on the delivery date: [{"start": "09:00", "end": "12:00"}, ...]. '
        "Empty: any time.",
    )
    service_s = models.PositiveIntegerField(default=300, help_text="Time at the door, seconds.")
    weight_kg = models.DecimalField(
        max_digits=9, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    volume_l = models.DecimalField(
        max_digits=9, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    items = models.PositiveIntegerField(default=1)
    required_skills = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    barcodes = models.JSONField(
        default=list,
        blank=True,
        help_text="The store's own codes on the parcel, as text: ['0123456789012', ...].",
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    notes = models.TextField(blank=True, max_length=2000)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.UNASSIGNED, editable=False
    )
    source_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the source last changed it (stale updates lose)."
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="order_unique_external_id_per_source",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            # An order without a day can wait or be cancelled; nothing else happens to it.
            models.CheckConstraint(
                condition=models.Q(delivery_date__isnull=False)
                | models.Q(status__in=[OrderStatus.UNASSIGNED, OrderStatus.CANCELLED]),
                name="order_without_date_is_not_planned",
            ),
            models.CheckConstraint(
                condition=models.Q(latest_date__isnull=True)
                | models.Q(latest_date__gte=models.F("delivery_date")),
                name="order_latest_date_after_delivery_date",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["delivery", "pickup"]), name="order_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["delivery_date", "status"])]

    @property
    def language_name(self) -> str:
        """The customer's language by its own name ("Suomi"), or "" for the business's."""
        return dict(settings.LANGUAGES).get(self.language, "")

    @property
    def needs_date(self) -> bool:
        """Its delivery date could not be read: the dispatcher has to give it one."""
        return self.delivery_date is None

    def __str__(self) -> str:
        ref = self.external_id or f"#{self.pk}"
        return f"{ref} {self.customer_name}"


class OrderEvent(models.Model):
    """One change of an order's status: who, when, why. Written only by order_transition,
    and by order_update for a note that changes no status (from_status == to_status: a
    date the store sent that could not be read)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    actor = models.CharField(max_length=150, help_text="user:<email>, api_key:<prefix>, system…")
    reason = models.CharField(max_length=300, blank=True)
    #: When it happened: now, or what the driver's phone recorded while it was offline.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '∅'} → {self.to_status}"


class PickupDelivery(models.Model):
    """A pickup-and-delivery pair: two orders the same driver serves, the pickup first.

    Each end is an order of its own (its stop, events, proof and messages work as for any
    order); `pickup.kind` is "pickup". The optimiser plans the pair as one shipment.
    """

    pickup = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="pair_as_pickup")
    delivery = models.OneToOneField(
        Order, on_delete=models.CASCADE, related_name="pair_as_delivery"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(pickup=models.F("delivery")), name="pair_of_two_orders"
            ),
        ]

    def __str__(self) -> str:
        return f"Pickup {self.pickup_id} then delivery {self.delivery_id}"
