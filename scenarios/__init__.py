"""The scenario format of the dual-path harness: its schema, its loader, and the corpus."""
