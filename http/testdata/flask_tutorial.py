# The Flask + sqlite3 tutorial's two views, served by TestTutorialMatchesFlask
# as the reference for roster's POST /add and POST /login.
#
# Usage: python3 flask_tutorial.py DB_PATH
# Binds 127.0.0.1 on a port the kernel picks, prints that port on one line of
# stdout once it is listening, and serves until killed.
import sqlite3
import sys

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

DB = sys.argv[1]

app = Flask(__name__)


def db():
    return sqlite3.connect(DB)


@app.route("/add", methods=["POST"])
def add():
    con = db()
    con.execute(
        "INSERT INTO users (user, email, pass) VALUES (?, ?, ?)",
        (request.form["user"], request.form.get("email", ""), request.form["pass"]),
    )
    con.commit()
    con.close()
    return "ok"


@app.route("/login", methods=["POST"])
def login():
    con = db()
    rows = con.execute(
        "SELECT id FROM users WHERE user=? AND pass=?",
        (request.form["user"], request.form["pass"]),
    ).fetchall()
    con.close()
    return jsonify(rows)


if __name__ == "__main__":
    con = db()
    con.execute(
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " user TEXT, email TEXT, pass TEXT)"
    )
    con.commit()
    con.close()
    server = make_server("127.0.0.1", 0, app)
    print(server.server_port, flush=True)
    server.serve_forever()
