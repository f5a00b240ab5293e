"""Websocket routes. The tracking app adds the driver, dispatcher and customer sockets."""

websocket_urlpatterns: list = []
