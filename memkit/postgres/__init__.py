"""The PostgreSQL store: the same memory as the SQLite file, on a server many programs share.

``memkit.MemoryDB("postgresql://user@host/dbname")`` opens it; everything
else about memory (cells, scenes, history, links, forgetting, the ranking
cues) is the same code as for the file. What differs is here:

- :mod:`~memkit.postgres.connection`: a pool of psycopg connections, one
  transaction per thread, writers of one namespace taking turns;
- :mod:`~memkit.postgres.migrations`: the schema, numbered and recorded as on SQLite,
  with a ``tsvector`` index kept in step by a trigger and row-level security;
- :mod:`~memkit.postgres.search`: full-text matches ranked by ``ts_rank_cd``;
- :mod:`~memkit.postgres.checks`: read-only SQL and the health check;
- :mod:`~memkit.postgres.roles`: one role per student, each keeping to its namespace.

psycopg is imported only when a ``postgresql://`` URL is opened, so memkit
works without it (``pip install "memkit[postgres]"`` adds it).
"""
