"""The store: SQLAlchemy Core tables and the engine over SQLite or PostgreSQL."""
