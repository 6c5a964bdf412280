"""The blink_client test suite: wire unit tests, integration against a real blink-store, faults."""
