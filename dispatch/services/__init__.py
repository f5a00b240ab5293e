"""Business rules of the dispatch app, one module per idea.

orders: validating, creating, updating orders, and the status state machine.
geocoding: turning addresses into coordinates through a pluggable provider.
"""
