"""P2: the files page's name search (substring, any case) against the bare SQL query on the same index.

    .venv/bin/python bench/name_search.py [--sizes 10000,100000,1000000] [--repeat 7]

One scratch PostgreSQL database and a gunicorn server on the production settings; the owner's
project grows to each size in turn (rows generated in SQL, names "<word>-<12 hex>.<ext>"). For each
size it times the files page (full HTTP request, signed in by session cookie, best of --repeat)
searching for a common word (one name in eight), a rarer four-character substring and one file's
own eight-character substring (given in capitals: the search ignores case), the page's own query
for its rows (timed in-process), and the bare SQL query the page needs, sent over psycopg from
this process: `original_filename ILIKE '%q%'`,
newest first, 51 rows, which PostgreSQL answers from the trigram index (pg_trgm GIN) on the name
or, for a common word, by walking the newest-first index until it has a page.

Target (issue #7): the page <= 2x the bare query.
"""

import argparse
import hashlib
from urllib.parse import urlencode

from file_rows import get, page_sql, parse_sizes, site

from bench.harness import Server, best_of, header, row

SEARCH_SQL = """
SELECT * FROM files_file
WHERE project_id = %(project)s AND datetime_removed IS NULL AND original_filename ILIKE %(pattern)s
ORDER BY datetime_uploaded DESC, uuid DESC LIMIT 51
"""


def searches(size: int) -> list[tuple[str, str]]:
    """(label, query): a common word, a rarer substring, one row's own (in capitals)."""
    one = hashlib.md5(str(size // 2 + 1).encode()).hexdigest()[2:10].upper()
    return [("common word 'invoice'", "invoice"), ("substring '7f3a'", "7f3a"), (f"one file's '{one}'", one)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    import psycopg

    with site("p2") as s:
        from django.urls import reverse

        owner = s.session_cookie("bench@example.com")
        files_path = reverse("files:list", kwargs={"project_id": s.project_id})
        header("P2", f"files page name search vs bare SQL (ILIKE, trigram index), best of {args.repeat}")
        with Server(s.env) as server, psycopg.connect(s.database_url, autocommit=True) as conn:
            trigram = conn.execute(
                "SELECT count(*) FROM pg_indexes WHERE tablename = 'files_file' AND indexdef LIKE '%%gin_trgm_ops%%'"
            ).fetchone()[0]
            print(f"  trigram index on files_file.original_filename: {'yes' if trigram else 'NO'}")
            for size in parse_sizes(args.sizes):
                took = s.grow(size)
                print(f"\n  -- {size:,} files (generated in {took:.1f} s)", flush=True)
                for label, q in searches(size):
                    params = {"project": s.project_id, "pattern": f"%{q}%"}
                    found = len(conn.execute(SEARCH_SQL, params).fetchall())
                    bare = best_of(lambda: conn.execute(SEARCH_SQL, params).fetchall(), args.repeat) * 1000
                    path = f"{files_path}?{urlencode({'q': q})}"
                    body = get(server.port, path, {"Cookie": owner})
                    assert (found == 0) == (b"No files match." in body), (q, found)
                    page = best_of(lambda: get(server.port, path, {"Cookie": owner}), args.repeat) * 1000
                    _, _, query = page_sql(path, owner)
                    row(f"bare SQL, {label} ({found} rows)", bare, "ms")
                    row(f"files page, {label} (vs bare SQL)", page, "ms", bare, "<= 2")
                    row("  its search query in-process (vs bare SQL)", query, "ms", bare, "<= 2")


if __name__ == "__main__":
    main()
