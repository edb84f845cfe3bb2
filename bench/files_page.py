"""P1: the files page (dashboard list, keyset pages) at page 1 and deep, against the Django admin and bare SQL.

    .venv/bin/python bench/files_page.py [--sizes 10000,100000,1000000] [--repeat 7]

One scratch PostgreSQL database and a gunicorn server on the production settings; the owner's
project grows to each size in turn (rows generated in SQL). For each size it times full HTTP
requests from one client loop (best of --repeat, a new connection each, signed in by session
cookie): the files page at page 1 and at the middle of the list (the `after` cursor of the row at
that depth, as following "Next" would reach it), and the File admin changelist at the same depth
(`?p=`, signed in as a superuser). The bare SQL baseline is the page's keyset query sent over
psycopg from this process. It also lists the page's own queries (count and time, run in-process)
so a COUNT(*) or a query per row shows up, and times its keyset query alone against the bare one.

Targets: deep page >= 20x faster than the admin, <= 3x the bare query (issue #7); <= 4x the
/healthz floor measured in the same run (issue #22).
"""

import argparse
import time

from file_rows import get, page_sql, parse_sizes, site

from bench.harness import Server, best_of, header, row

KEYSET_SQL = """
SELECT * FROM files_file
WHERE project_id = %(project)s AND datetime_removed IS NULL {after}
ORDER BY datetime_uploaded DESC, uuid DESC LIMIT 51
"""
AFTER = (
    "AND (datetime_uploaded < %(at)s OR (datetime_uploaded = %(at)s AND uuid < %(pk)s)) AND datetime_uploaded <= %(at)s"
)


def row_at(conn, project: str, offset: int):
    return conn.execute(
        "SELECT datetime_uploaded, uuid FROM files_file WHERE project_id = %s AND datetime_removed IS NULL "
        "ORDER BY datetime_uploaded DESC, uuid DESC OFFSET %s LIMIT 1",
        (project, offset),
    ).fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    import psycopg

    with site("p1") as s:
        from django.contrib.admin.views.main import PAGE_VAR
        from django.urls import reverse

        from files.admin import FileAdmin
        from files.dashboard.forms import CursorField
        from files.models import File

        owner = s.session_cookie("bench@example.com")
        admin = s.session_cookie("admin@example.com", superuser=True)
        files_path = reverse("files:list", kwargs={"project_id": s.project_id})
        admin_path = reverse("admin:files_file_changelist")
        header("P1", f"files page (keyset) vs File admin changelist vs bare SQL, best of {args.repeat}")
        with Server(s.env) as server, psycopg.connect(s.database_url, autocommit=True) as conn:
            for size in parse_sizes(args.sizes):
                took = s.grow(size)
                print(f"\n  -- {size:,} files (generated in {took:.1f} s)", flush=True)
                depth = size // 2
                at, pk = row_at(conn, s.project_id, depth)
                cursor = CursorField.encode(File(datetime_uploaded=at, uuid=pk))
                deep_path = f"{files_path}?after={cursor}"
                admin_deep = f"{admin_path}?{PAGE_VAR}={depth // FileAdmin.list_per_page + 1}"

                def sql(after: bool) -> None:
                    conn.execute(
                        KEYSET_SQL.format(after=AFTER if after else ""), {"project": s.project_id, "at": at, "pk": pk}
                    ).fetchall()

                bare_first = best_of(lambda: sql(False), args.repeat) * 1000
                bare_deep = best_of(lambda: sql(True), args.repeat) * 1000
                first = best_of(lambda: get(server.port, files_path, {"Cookie": owner}), args.repeat) * 1000
                deep = best_of(lambda: get(server.port, deep_path, {"Cookie": owner}), args.repeat) * 1000
                floor = best_of(lambda: get(server.port, "/healthz"), args.repeat) * 1000
                started = time.perf_counter()
                get(server.port, admin_deep, {"Cookie": admin})
                once = time.perf_counter() - started
                admin_repeat = args.repeat if once < 1 else 3
                admin_time = best_of(lambda: get(server.port, admin_deep, {"Cookie": admin}), admin_repeat) * 1000
                queries, query_ms, keyset_ms = page_sql(deep_path, owner)

                row("bare SQL keyset query, page 1", bare_first, "ms")
                row(f"bare SQL keyset query, row {depth:,}", bare_deep, "ms")
                row("HTTP floor (GET /healthz)", floor, "ms")
                row("files page, page 1 (vs bare SQL)", first, "ms", bare_first)
                row(f"files page, row {depth:,} (vs bare SQL)", deep, "ms", bare_deep, "<= 3")
                row(f"files page, row {depth:,} (vs the /healthz floor)", deep, "ms", floor, "<= 4")
                row(f"  its {queries} queries in-process, all", query_ms, "ms", bare_deep)
                row("  its keyset query in-process (vs bare SQL)", keyset_ms, "ms", bare_deep, "<= 3")
                row("File admin, same depth (?p=, vs files page)", admin_time, "ms", deep)
                print(
                    f"  {'speed-up over admin at depth':<52} {admin_time / deep:12.1f} x          target >= 20",
                    flush=True,
                )


if __name__ == "__main__":
    main()
