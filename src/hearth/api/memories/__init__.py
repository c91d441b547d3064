"""``/v1/memories``: what hearth remembers about a user, to see, correct, forget and carry."""
