"""The warm engine: a long-lived per-user rungo process that builds for `rungo run` (daemon/engine.py),
and the client side of it (daemon/client.py), which stays as light as the rerun shortcut."""
