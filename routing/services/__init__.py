"""Routing's services, one module per idea (plans, matrix, conversion, edits, publish …);
callers import the module they need, nothing is re-exported here."""
