# SPDX-License-Identifier: MIT
"""The hello app (apps/hello) as a WSGI application, so uWSGI behind Nginx
can be measured on the same two tests as quiver: GET /plaintext answers
text/plain "Hello, World!", GET /json answers application/json
{"message":"Hello, World!"} serialised per request (TechEmpower's rule).
Other methods get 405 with Allow, other paths 404, as from quiver's router.

Debian 12: apt-get install uwsgi-core uwsgi-plugin-python3 nginx-light. Run
it the way Nginx's uwsgi_pass reaches it, one process, no threads, on a unix
socket (the same shape as quiver with `workers: 1` and a uwsgi listener):

  uwsgi --plugin python3 --master --processes 1 --threads 1 \
        --uwsgi-socket /tmp/hello-uwsgi.sock --chmod-socket=660 \
        --wsgi-file test/bench/peers/hello_wsgi.py --disable-logging \
        --die-on-term --need-app --listen 1024

  # nginx.conf, inside http { }:
  #   upstream hello_uwsgi { server unix:/tmp/hello-uwsgi.sock; }
  #   server { listen 127.0.0.1:8081;
  #            location / { include uwsgi_params; uwsgi_pass hello_uwsgi; } }

--listen above 128 needs net.core.somaxconn at least as large (uWSGI
refuses to start otherwise). The file also runs under any WSGI server, and
alone for a smoke test: `python3 test/bench/peers/hello_wsgi.py [PORT]`.
"""
import json

PLAIN = b"Hello, World!"
PLAIN_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(PLAIN)))]
TEXT_UTF8 = "text/plain; charset=utf-8"
NOT_FOUND = b"Not Found\n"
NOT_ALLOWED = b"Method Not Allowed\n"
ROUTES = ("/plaintext", "/json")


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path not in ROUTES:
        start_response("404 Not Found", [("Content-Type", TEXT_UTF8),
                                         ("Content-Length", str(len(NOT_FOUND)))])
        return [NOT_FOUND]
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        start_response("405 Method Not Allowed",
                       [("Content-Type", TEXT_UTF8), ("Allow", "GET, HEAD"),
                        ("Content-Length", str(len(NOT_ALLOWED)))])
        return [NOT_ALLOWED]
    if path == "/plaintext":
        start_response("200 OK", PLAIN_HEADERS)
        return [PLAIN]
    body = json.dumps({"message": "Hello, World!"}, separators=(",", ":")).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    import sys
    from wsgiref.simple_server import make_server

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    with make_server("127.0.0.1", port, application) as httpd:
        print("hello_wsgi on http://127.0.0.1:%d/plaintext" % port, flush=True)
        httpd.serve_forever()
