"""Executing a built program: exec in place (command line) or as a child that rungo outlives (fallback)."""
