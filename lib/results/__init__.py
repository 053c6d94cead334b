"""Result events (CloudEvents) and where they go."""
