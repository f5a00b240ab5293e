"""Addresses of the regions served here (public schema): see geo.services."""
