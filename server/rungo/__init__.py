"""rungo: `go run`, reimplemented as a cached compile-link-exec pipeline."""

__version__ = "0.1.0"
