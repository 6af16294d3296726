"""Storage behind one async protocol, with SQLite and PostgreSQL backends."""
