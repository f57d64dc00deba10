"""The build stage: plan compile and link actions, key them, and execute what the cache does not have."""
