"""System: the health check and the database commands."""
