"""Operations support shared by the Rasa server, the action server and the tools:
Prometheus metrics (metrics.py), JSON logs with a request id and a redaction filter
(logs.py), and optional Sentry error reporting (errors.py).

Nothing here talks to the network on import; every piece is off or harmless until
a process configures it.
"""
