"""The course's fig example: a Flask app that counts its hits in redis, found by the name ``redis``.

The official ``python`` image has Flask but not the redis client library, so the one command the
app needs (INCR) is spoken in redis' wire protocol over a plain socket.
"""

import socket

from flask import Flask

app = Flask(__name__)
REDIS = ("redis", 6379)


def incr(key: bytes) -> int:
    with socket.create_connection(REDIS, timeout=5) as conn:
        conn.sendall(b"*2\r\n$4\r\nINCR\r\n$%d\r\n%s\r\n" % (len(key), key))
        reply = conn.makefile("rb").readline()  # ":<n>\r\n"
    return int(reply[1:])


@app.route("/")
def hello() -> str:
    return f"Hello World! I have been seen {incr(b'hits')} times (by {socket.gethostname()}).\n"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
