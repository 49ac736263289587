"""PostgreSQL's plan of a query a test captured, with some kinds of plan barred: the test tables
are too small for the planner to choose an index alone, so a test that an index can serve a
query bars the other ways first (for the rest of the test's transaction)."""

from django.db import connection


def plan(sql: str, *barred: str) -> str:
    """The text of ``EXPLAIN sql`` with each of ``barred`` (``seqscan``, ``bitmapscan``,
    ``sort``: PostgreSQL's ``enable_*`` settings) turned off."""
    with connection.cursor() as cursor:
        for kind in barred:
            cursor.execute(f"SET LOCAL enable_{kind} = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())
