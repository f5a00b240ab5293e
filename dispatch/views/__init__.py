"""The dispatcher's dashboard pages of intake: orders, the fleet, CSV, integrations,
addresses (one module each). The dashboard's home is tracking's operations overview."""
