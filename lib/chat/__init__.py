"""Chat platforms as a destination: where a follow-up may be posted, and posting it."""
