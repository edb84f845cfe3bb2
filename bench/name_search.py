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

Then REST file search (#19) at each size, `POST /api/files/search/` over HTTP (Simple auth, best of
--repeat, 20 results and the total, which counts up to 10,000): by one tag on one file in eight,
by two tags (one of them on one file in 4096), by `query` for the common word (by relevance and
newest first), a rarer substring and one file's own, and a query with a tag. Each file is tagged
with its name's word and "t" + 3 hex digits of its uuid's md5.
"""

import argparse
import hashlib
import http.client
import json
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


TAG_SQL = """
INSERT INTO files_filetag (file_id, project_id, tag)
SELECT f.uuid, f.project_id, t.tag
FROM files_file f, LATERAL (VALUES (split_part(f.original_filename, '-', 1)),
                                   ('t' || substr(md5(f.uuid::text), 1, 3))) AS t(tag)
WHERE f.project_id = %(project)s AND NOT EXISTS (SELECT 1 FROM files_filetag x WHERE x.file_id = f.uuid)
"""


def tag_rows(conn, project_id) -> int:
    conn.execute(TAG_SQL, {"project": project_id})
    conn.execute("VACUUM ANALYZE files_filetag")
    return conn.execute("SELECT count(*) FROM files_filetag").fetchone()[0]


def rare_tag(conn, project_id) -> str:
    return conn.execute(
        "SELECT tag FROM files_filetag WHERE project_id = %s AND tag LIKE 't%%' LIMIT 1", [project_id]
    ).fetchone()[0]


def search_bodies(size: int, rare: str) -> list[tuple[str, dict]]:
    one = hashlib.md5(str(size // 2 + 1).encode()).hexdigest()[2:10]
    return [
        ("tag 'invoice' (1 in 8), newest first", {"tags": {"any": ["invoice"]}, "sort": ["-datetime_uploaded"]}),
        (f"tags all 'invoice' + '{rare}' (1 in 4096)", {"tags": {"all": ["invoice", rare]}}),
        ("query 'invoice' (common word), by relevance", {"query": "invoice"}),
        ("query 'invoice', newest first", {"query": "invoice", "sort": ["-datetime_uploaded"]}),
        ("query '7f3a' (rarer substring)", {"query": "7f3a"}),
        (f"query '{one}' (one file's)", {"query": one}),
        ("query 'report' + tag 'report', by size", {"query": "report", "tags": {"any": ["report"]}, "sort": ["size"]}),
    ]


def post(port: int, path: str, body: dict, headers: dict) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        data = response.read()
        assert response.status == 200, (response.status, data[:300])
        return json.loads(data)
    finally:
        connection.close()


def rest_headers(keys: dict) -> dict:
    token = f"{keys['public_key']}:{keys['secret_key']}"
    return {
        "Authorization": f"Uploadcare.Simple {token}",
        "Accept": "application/vnd.uploadcare-v0.7+json",
        "Content-Type": "application/json",
    }


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
                tagged = tag_rows(conn, s.project_id)
                rare = rare_tag(conn, s.project_id)
                print(f"  REST search, {tagged:,} tag rows", flush=True)
                headers = rest_headers(s.keys)
                for label, body in search_bodies(size, rare):
                    found = post(server.port, "/api/files/search/", body, headers)
                    took = best_of(lambda: post(server.port, "/api/files/search/", body, headers), args.repeat)
                    row(f"POST files/search/, {label} (total {found['total']:,})", took * 1000, "ms")


if __name__ == "__main__":
    main()
