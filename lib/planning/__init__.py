"""From validated requests to planned backups: which instances, and under which deterministic names."""
