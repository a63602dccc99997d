"""Fake channel servers: the real request and response shapes of each channel API, errors
included, for the tests and the demo. Production code never imports this package."""
