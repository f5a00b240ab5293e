"""Where drivers are: every GPS fix kept (append-only, per tenant), the latest one per
driver kept hot, and whether a driver is on duty (only then may they stream)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dispatch.models import Driver, Order


class LocationPing(models.Model):
    """One GPS fix as the phone took it. `recorded_at` is the phone's clock: the same fix
    sent twice (a retry, an offline batch sent again) is stored once."""

    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="+")
    recorded_at = models.DateTimeField()
    received_at = models.DateTimeField()
    lat = models.FloatField()
    lng = models.FloatField()
    accuracy_m = models.FloatField(null=True, blank=True)
    speed_mps = models.FloatField(null=True, blank=True)
    heading_deg = models.FloatField(null=True, blank=True)
    seq = models.BigIntegerField(help_text="Server sequence (µs since the epoch at receipt).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["driver", "recorded_at"], name="ping_once"),
        ]
        indexes = [models.Index(fields=["recorded_at"], name="ping_recorded")]  # retention

    def __str__(self) -> str:
        return f"{self.driver_id} at {self.recorded_at}: {self.lat}, {self.lng}"


class DriverPosition(models.Model):
    """The newest fix of each driver (by the phone's clock): what maps start from."""

    driver = models.OneToOneField(Driver, on_delete=models.CASCADE, primary_key=True)
    recorded_at = models.DateTimeField()
    lat = models.FloatField()
    lng = models.FloatField()
    accuracy_m = models.FloatField(null=True, blank=True)
    speed_mps = models.FloatField(null=True, blank=True)
    heading_deg = models.FloatField(null=True, blank=True)
    seq = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.driver_id}: {self.lat}, {self.lng}"


class Duty(models.Model):
    """Whether a driver is working now; off duty, the phone's stream is refused."""

    driver = models.OneToOneField(Driver, on_delete=models.CASCADE, primary_key=True)
    on_duty = models.BooleanField(default=False)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.driver_id}: {'on' if self.on_duty else 'off'} duty"


#: A colour as the brand page and the database take it: `#rrggbb`.
COLOUR_FORMAT = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour like #0b63ce."))


class TrackingSettings(models.Model):
    """What the tenant promises and shows its customers (one row): how wide the arrival
    window is, what the tracking page shows, how long its link lasts, and the brand (the
    colours and the logo of the tracking page, the emails and the driver app)."""

    brand_colour = models.CharField(
        _("brand colour"),
        max_length=7,
        default="#0b63ce",
        validators=[COLOUR_FORMAT],
        help_text=_("The header of the tracking page, the emails and the driver app."),
    )
    accent_colour = models.CharField(
        _("accent colour"),
        max_length=7,
        default="#0b63ce",
        validators=[COLOUR_FORMAT],
        help_text=_("Buttons, the driver's path on the map and focus outlines."),
    )
    #: The cleaned logo's name in storage (`brand/<schema>/logo-<sha256 prefix>.png`):
    #: the content hash in it is what lets the logo be cached for ever. Empty: no logo.
    logo = models.CharField(max_length=200, blank=True, default="")
    logo_width = models.PositiveSmallIntegerField(default=0)
    logo_height = models.PositiveSmallIntegerField(default=0)
    eta_window_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(10), MaxValueValidator(240)],
        help_text="How wide the arrival window promised to the customer is.",
    )
    tracking_show_map = models.BooleanField(default=True)
    tracking_show_driver_name = models.BooleanField(default=True)
    tracking_show_stops_before = models.BooleanField(default=True)
    tracking_show_proof = models.BooleanField(
        default=True, help_text="The delivery photo, signature and recipient's name."
    )
    tracking_link_ttl_hours = models.PositiveIntegerField(
        default=24, help_text="The tracking link stops working this long after the delivery."
    )

    def __str__(self) -> str:
        return "Tracking settings"


class EtaPromise(models.Model):
    """The arrival window the customer was last told (with "out for delivery", then with
    each "ETA changed"): a live ETA outside it is worth a message."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="eta_promise")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    changes = models.PositiveIntegerField(default=0)
    #: The window first promised (reports measure punctuality against it).
    first_starts_at = models.DateTimeField(null=True, blank=True)
    first_ends_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "notifications_etapromise"  # made by notifications, which told the customer

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"


class DriverReport(models.Model):
    """A stop event the driver app sent with its own id (`key`): the phone may send it
    again after a lost answer or a reconnect, and gets the first answer back instead of a
    second event. `recorded_at` is when the driver tapped, by the phone's clock (the app
    keeps events while offline and sends them later, in order)."""

    key = models.UUIDField(unique=True)
    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="+")
    order_id = models.BigIntegerField()
    event = models.CharField(max_length=16)
    recorded_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    #: The answer the phone got: {} when it was recorded, else the field errors.
    errors = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.driver_id} {self.event} {self.order_id}"


class ParcelScan(models.Model):
    """A parcel's code read by the driver's camera (or typed) at pickup or at the door,
    and whether it was the parcel expected there."""

    class Stage(models.TextChoices):
        PICKUP = "pickup", "Loaded at pickup"
        DOOR = "door", "Checked at the door"

    key = models.UUIDField(unique=True)
    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, related_name="scans")
    #: At the door: the stop the driver was finishing (the scan may name another order).
    expected_order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    code = models.CharField(max_length=128)
    stage = models.CharField(max_length=8, choices=Stage.choices)
    matched = models.BooleanField()
    recorded_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["driver", "recorded_at"], name="scan_driver_time")]

    def __str__(self) -> str:
        return f"{self.stage} scan {self.code!r} ({'ok' if self.matched else 'mismatch'})"


class DriverSettings(models.Model):
    """What a driver chose in the app: the navigation app their stops open in."""

    class Navigation(models.TextChoices):
        GOOGLE = "google", "Google Maps"
        APPLE = "apple", "Apple Maps"
        WAZE = "waze", "Waze"

    driver = models.OneToOneField(Driver, on_delete=models.CASCADE, primary_key=True)
    navigation_app = models.CharField(
        max_length=8, choices=Navigation.choices, default=Navigation.GOOGLE
    )

    def __str__(self) -> str:
        return f"{self.driver_id}: {self.navigation_app}"


class DeliveryRating(models.Model):
    """What the customer thought of a delivery, given once on the tracking page: 1-5 stars
    and an optional comment. One per order (the database refuses a second); `driver` is
    who delivered it (None when nobody on a route did, an order marked delivered by hand)."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="rating")
    driver = models.ForeignKey(
        Driver, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stars = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stars__gte=1, stars__lte=5), name="rating_stars_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.stars} stars"
