"""PostgreSQL: the embedded default server, connections, migrations and the project's tables."""
