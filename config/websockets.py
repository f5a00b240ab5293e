"""Websocket routes: the driver's phone, the dispatchers' live map, the customer's page."""

from django.urls import path

from tracking import consumers

websocket_urlpatterns: list = [
    path("ws/driver/", consumers.DriverConsumer.as_asgi()),
    path("ws/dispatch/", consumers.DispatchConsumer.as_asgi()),
    path("ws/track/<str:token>/", consumers.TrackConsumer.as_asgi()),
]
