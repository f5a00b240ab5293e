"""The shared kernel every app may use: navigation, form helpers, metrics, logging context,
bulk COPY and the client's address. It imports no app."""
