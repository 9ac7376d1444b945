"""Use cases: each takes a session, an actor and plain data, and returns domain results."""
