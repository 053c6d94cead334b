"""Carrying out one order: resolve its instances, name, create exactly once, wait, prune, or fan out."""
