"""Result events (CloudEvents) and their sinks: the log and an SMN topic."""
