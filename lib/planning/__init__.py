"""Pure decisions: which instances a request names, under which deterministic names, which old backups go."""
