from django.apps import AppConfig


class GeoConfig(AppConfig):
    """Roads and addresses of the regions served on this machine, shared by every tenant:
    road graphs built from OpenStreetMap extracts (files under ROADS_DIR, served in process
    by OSRM) and the extracts' addresses (public schema), for travel times, road paths and
    address search."""

    name = "geo"
    verbose_name = "Roads and addresses"
