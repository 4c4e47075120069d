"""The ticket store: SQLAlchemy models, Alembic migrations, numbering and the ticket repository.
Shared by the action server and the web app; each opens it from MINSHENG_DATABASE_URL."""
