"""Long-term memory: extract what users say about themselves, consolidate, recall."""
