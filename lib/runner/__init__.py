"""Carrying out planned backups: concurrency, deadline, waiting for jobs."""
