# SPDX-License-Identifier: MIT
"""The bench app's peer for Gunicorn (sync, gthread) and uWSGI: the same
endpoints, SQL and response bytes as apps/bench, as a plain WSGI app over
psycopg2. See README.md beside this file for the commands that start it.

Database: env DATABASE_URL (a libpq URL). One connection per worker thread
(so per process for sync workers and uWSGI processes), opened on first use
and kept; autocommit, so every statement is its own transaction, as in quiver.
"""
import json
import os
import random
import threading
import time
from email.utils import formatdate
from urllib.parse import parse_qs

import psycopg2
import psycopg2.errorcodes

DATABASE_URL = os.environ.get("DATABASE_URL", "")

WORLD_SQL = "SELECT id, randomnumber FROM world WHERE id = %s"
FORTUNES_SQL = "SELECT id, message FROM fortune"
UPDATE_SQL = ("UPDATE world SET randomnumber = u.r "
              "FROM (SELECT unnest(%s::int[]) AS id, unnest(%s::int[]) AS r) AS u "
              "WHERE world.id = u.id")
AGENTS_SQL = ("SELECT a.id, a.number, a.name, a.context, s.status, s.since "
              "FROM agentfeatures a LEFT JOIN agent_login_status s ON s.agent_id = a.id "
              "ORDER BY a.id")
ADDED_FORTUNE = "Additional fortune added at request time."
WORLD_ROWS = 10000

JSON = [("Content-Type", "application/json")]
TEXT = [("Content-Type", "text/plain")]
HTML = [("Content-Type", "text/html; charset=utf-8")]
ERROR = [("Content-Type", "text/plain; charset=utf-8")]

# The same escaping as quiver::html::escape, so the pages are byte-identical.
ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
PAGE_HEAD = ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
             "<tr><th>id</th><th>message</th></tr>")
PAGE_ROW = "<tr><td>{}</td><td>{}</td></tr>"
PAGE_TAIL = "</table></body></html>"

_local = threading.local()


class Unavailable(Exception):
    """The database cannot serve now: answer 503."""


def connection():
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        try:
            conn = psycopg2.connect(DATABASE_URL, connect_timeout=5)
        except psycopg2.OperationalError as e:
            raise Unavailable(str(e)) from e
        conn.autocommit = True
        _local.conn = conn
    return conn


def run(fn):
    """fn(cursor) on this thread's connection; connection loss becomes
    Unavailable and the connection is reopened on the next request."""
    conn = connection()
    try:
        with conn.cursor() as cur:
            return fn(cur)
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
        try:
            conn.close()
        except psycopg2.Error:
            pass
        _local.conn = None
        raise Unavailable(str(e)) from e


def query_count(environ, *names):
    """TechEmpower's rule: missing, empty, not an integer or < 1 -> 1; > 500 -> 500."""
    params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    for name in names:
        if name in params:
            raw = params[name][0]
            body = raw[1:] if raw[:1] in ("+", "-") else raw
            if not body or not body.isascii() or not body.isdigit():
                return 1
            return max(1, min(500, int(raw)))
    return 1


def read_world(cur, wid):
    cur.execute(WORLD_SQL, (wid,))
    row = cur.fetchone()
    return {"id": row[0], "randomNumber": row[1]}


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def plaintext(environ):
    return TEXT, b"Hello, World!"


def json_endpoint(environ):
    return JSON, dumps({"message": "Hello, World!"})


def db(environ):
    return JSON, dumps(run(lambda cur: read_world(cur, random.randint(1, WORLD_ROWS))))


def queries(environ):
    n = query_count(environ, "queries")
    ids = [random.randint(1, WORLD_ROWS) for _ in range(n)]
    return JSON, dumps(run(lambda cur: [read_world(cur, i) for i in ids]))


def fortunes(environ):
    def read(cur):
        cur.execute(FORTUNES_SQL)
        return cur.fetchall()
    rows = run(read)
    rows.append((0, ADDED_FORTUNE))
    rows.sort(key=lambda r: r[1])  # code point order = UTF-8 byte order
    page = PAGE_HEAD + "".join(PAGE_ROW.format(i, m.translate(ESCAPES)) for i, m in rows) + PAGE_TAIL
    return HTML, page.encode("utf-8")


def updates(environ):
    n = query_count(environ, "queries")
    ids = sorted(random.sample(range(1, WORLD_ROWS + 1), n))

    def work(cur):
        worlds = [read_world(cur, i) for i in ids]
        for w in worlds:
            old = w["randomNumber"]
            while w["randomNumber"] == old:
                w["randomNumber"] = random.randint(1, WORLD_ROWS)
        cur.execute(UPDATE_SQL, ([w["id"] for w in worlds], [w["randomNumber"] for w in worlds]))
        return worlds
    return JSON, dumps(run(work))


def agents(environ):
    def read(cur):
        cur.execute(AGENTS_SQL)
        return cur.fetchall()
    out = [{"id": i, "number": num, "name": name, "context": ctx, "status": status,
            "since": since.isoformat() if since is not None else None}
           for i, num, name, ctx, status, since in run(read)]
    return JSON, dumps(out)


ROUTES = {
    "/plaintext": plaintext,
    "/json": json_endpoint,
    "/db": db,
    "/queries": queries,
    "/fortunes": fortunes,
    "/updates": updates,
    "/agents": agents,
}

_date = {"second": None, "text": ""}


def http_date():
    now = int(time.time())
    if _date["second"] != now:
        _date["text"] = formatdate(now, usegmt=True)
        _date["second"] = now
    return _date["text"]


def application(environ, start_response):
    handler = ROUTES.get(environ.get("PATH_INFO", ""))
    if handler is None:
        status, headers, body = "404 Not Found", ERROR, b"Not Found\n"
    elif environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        status, headers, body = "405 Method Not Allowed", ERROR + [("Allow", "GET, HEAD")], \
            b"Method Not Allowed\n"
    else:
        try:
            headers, body = handler(environ)
            status = "200 OK"
        except Unavailable:
            status, headers, body = ("503 Service Unavailable", ERROR,
                                     b"Service Unavailable: database unavailable\n")
        except psycopg2.Error as e:
            environ["wsgi.errors"].write("database error: %s (SQLSTATE %s)\n" % (e, e.pgcode))
            status, headers, body = "500 Internal Server Error", ERROR, b"Internal Server Error\n"
    headers = headers + [("Content-Length", str(len(body)))]
    # Gunicorn adds Server and Date itself; uWSGI adds neither.
    if "uwsgi.version" in environ:
        headers = headers + [("Server", "uWSGI"), ("Date", http_date())]
    start_response(status, headers)
    return [body]
