#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The bench app's peer on aiohttp + asyncpg + uvloop: the same endpoints,
SQL and response bytes as apps/bench.

    DATABASE_URL=postgresql://... python3 aiohttp_app.py --port 8082 --workers 2 [--pool 4]

--workers N processes share one listening socket, bound before they are
forked; each runs its own uvloop and its own asyncpg pool of --pool
connections (opened on first use, kept). asyncpg prepares and caches every
statement. aiohttp adds Server and Date.
"""
import argparse
import asyncio
import json
import os
import random
import signal
import socket
import sys

import asyncpg
import uvloop
from aiohttp import web

WORLD_SQL = "SELECT id, randomnumber FROM world WHERE id = $1"
FORTUNES_SQL = "SELECT id, message FROM fortune"
UPDATE_SQL = ("UPDATE world SET randomnumber = u.r "
              "FROM (SELECT unnest($1::int[]) AS id, unnest($2::int[]) AS r) AS u "
              "WHERE world.id = u.id")
AGENTS_SQL = ("SELECT a.id, a.number, a.name, a.context, s.status, s.since "
              "FROM agentfeatures a LEFT JOIN agent_login_status s ON s.agent_id = a.id "
              "ORDER BY a.id")
ADDED_FORTUNE = "Additional fortune added at request time."
WORLD_ROWS = 10000

ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
PAGE_HEAD = ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
             "<tr><th>id</th><th>message</th></tr>")
PAGE_ROW = "<tr><td>{}</td><td>{}</td></tr>"
PAGE_TAIL = "</table></body></html>"

# Failures that mean "the database cannot serve now": 503.
UNAVAILABLE = (OSError, asyncio.TimeoutError, asyncpg.exceptions.ConnectionDoesNotExistError,
               asyncpg.exceptions.InterfaceError, asyncpg.PostgresConnectionError,
               asyncpg.exceptions.OperatorInterventionError,
               asyncpg.exceptions.InsufficientResourcesError)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def query_count(request, *names):
    """TechEmpower's rule: missing, empty, not an integer or < 1 -> 1; > 500 -> 500."""
    for name in names:
        if name in request.query:
            raw = request.query[name]
            body = raw[1:] if raw[:1] in ("+", "-") else raw
            if not body or not body.isascii() or not body.isdigit():
                return 1
            return max(1, min(500, int(raw)))
    return 1


def json_response(text):
    # body= (bytes) keeps aiohttp from appending "; charset=utf-8".
    return web.Response(body=text.encode("utf-8"), content_type="application/json")


async def plaintext(request):
    return web.Response(body=b"Hello, World!", content_type="text/plain")


async def json_endpoint(request):
    return json_response(dumps({"message": "Hello, World!"}))


async def db(request):
    async with request.app["pool"].acquire() as conn:
        row = await conn.fetchrow(WORLD_SQL, random.randint(1, WORLD_ROWS))
    return json_response(dumps({"id": row[0], "randomNumber": row[1]}))


async def queries(request):
    n = query_count(request, "queries")
    out = []
    async with request.app["pool"].acquire() as conn:
        stmt = await conn.prepare(WORLD_SQL)
        for _ in range(n):
            row = await stmt.fetchrow(random.randint(1, WORLD_ROWS))
            out.append({"id": row[0], "randomNumber": row[1]})
    return json_response(dumps(out))


async def fortunes(request):
    async with request.app["pool"].acquire() as conn:
        rows = [(r[0], r[1]) for r in await conn.fetch(FORTUNES_SQL)]
    rows.append((0, ADDED_FORTUNE))
    rows.sort(key=lambda r: r[1])  # code point order = UTF-8 byte order
    page = PAGE_HEAD + "".join(PAGE_ROW.format(i, m.translate(ESCAPES)) for i, m in rows) + PAGE_TAIL
    return web.Response(text=page, content_type="text/html", charset="utf-8")


async def updates(request):
    n = query_count(request, "queries")
    ids = sorted(random.sample(range(1, WORLD_ROWS + 1), n))
    worlds = []
    async with request.app["pool"].acquire() as conn:
        stmt = await conn.prepare(WORLD_SQL)
        for i in ids:
            row = await stmt.fetchrow(i)
            new = row[1]
            while new == row[1]:
                new = random.randint(1, WORLD_ROWS)
            worlds.append({"id": row[0], "randomNumber": new})
        await conn.execute(UPDATE_SQL, [w["id"] for w in worlds],
                           [w["randomNumber"] for w in worlds])
    return json_response(dumps(worlds))


async def agents(request):
    async with request.app["pool"].acquire() as conn:
        rows = await conn.fetch(AGENTS_SQL)
    out = [{"id": r[0], "number": r[1], "name": r[2], "context": r[3], "status": r[4],
            "since": r[5].isoformat() if r[5] is not None else None} for r in rows]
    return json_response(dumps(out))


@web.middleware
async def database_errors(request, handler):
    try:
        return await handler(request)
    except UNAVAILABLE:
        return web.Response(status=503, text="Service Unavailable: database unavailable\n",
                            content_type="text/plain", charset="utf-8")
    except asyncpg.PostgresError as e:
        print("database error: %s (SQLSTATE %s)" % (e, getattr(e, "sqlstate", "")),
              file=sys.stderr, flush=True)
        return web.Response(status=500, text="Internal Server Error\n",
                            content_type="text/plain", charset="utf-8")


async def open_pool(app):
    # min_size 0: connections open on first use and stay open.
    app["pool"] = await asyncpg.create_pool(app["url"], min_size=0, max_size=app["pool_size"],
                                            timeout=5, command_timeout=10)


async def close_pool(app):
    await app["pool"].close()


def make_app(url, pool_size):
    app = web.Application(middlewares=[database_errors])
    app["url"] = url
    app["pool_size"] = pool_size
    app.on_startup.append(open_pool)
    app.on_cleanup.append(close_pool)
    for path, fn in (("/plaintext", plaintext), ("/json", json_endpoint), ("/db", db),
                     ("/queries", queries), ("/fortunes", fortunes), ("/updates", updates),
                     ("/agents", agents)):
        app.router.add_get(path, fn)
    return app


def serve(sock, url, pool_size):
    uvloop.install()
    web.run_app(make_app(url, pool_size), sock=sock, print=None, access_log=None,
                handle_signals=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8082)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--pool", type=int, default=4, help="connections per worker")
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL", "")

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(4096)
    sock.set_inheritable(True)

    children = []
    for _ in range(max(1, args.workers)):
        pid = os.fork()
        if pid == 0:
            try:
                serve(sock, url, args.pool)
            finally:
                os._exit(0)
        children.append(pid)

    def forward(sig, _frame):
        for c in children:
            try:
                os.kill(c, sig)
            except ProcessLookupError:
                pass
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    status = 0
    for c in children:
        while True:
            try:
                _, st = os.waitpid(c, 0)
                status = status or os.waitstatus_to_exitcode(st)
                break
            except InterruptedError:
                continue
    sys.exit(1 if status else 0)


if __name__ == "__main__":
    main()
