"""Storage adapters of the sync engine: in-memory (tests) and SQLite (the phone)."""
