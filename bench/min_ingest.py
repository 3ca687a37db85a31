#!/usr/bin/python3
"""The baseline of bench ingest: the least an ingest has to do, in plain
Python with the standard library. For every file of MAILDIR/new: read it,
parse it (email, policy.default), take the token from In-Reply-To, decode the
text/plain body, take its first number 0-10 as the score, hash the raw bytes,
then in one SQLite transaction per message (WAL, synchronous=NORMAL, as
enquete) look the invitation up, record the inbound message and the answer
and mark the invitation answered, and finally move the file to cur/.
No quote stripping, classification or sender check: a floor, not a rival.

usage: min_ingest.py MAILDIR DB TOKENS_FILE
"""
import email
import email.policy
import hashlib
import os
import re
import sqlite3
import sys

TOKEN = re.compile(r"<inv\.([0-9a-z]{26})@")
NUMBER = re.compile(r"\b(10|\d)\b")


def main():
    maildir, dbpath, tokens_file = sys.argv[1:4]
    db = sqlite3.connect(dbpath, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE invitation (id INTEGER PRIMARY KEY, token TEXT "
               "UNIQUE, state TEXT)")
    db.execute("CREATE TABLE inbound (id INTEGER PRIMARY KEY, message_id "
               "TEXT, sha256 TEXT UNIQUE, source_key TEXT)")
    db.execute("CREATE TABLE answer (id INTEGER PRIMARY KEY, invitation_id "
               "INTEGER, metric TEXT, score INTEGER, comment TEXT)")
    with open(tokens_file) as f:
        db.execute("BEGIN")
        db.executemany("INSERT INTO invitation (token, state) VALUES "
                       "(?, 'sent')", ((t.strip(),) for t in f if t.strip()))
        db.execute("COMMIT")
    new = os.path.join(maildir, "new")
    cur = os.path.join(maildir, "cur")
    recorded = 0
    for name in sorted(os.listdir(new)):
        path = os.path.join(new, name)
        with open(path, "rb") as f:
            raw = f.read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        m = TOKEN.search(str(msg.get("In-Reply-To", "")))
        body = msg.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        n = NUMBER.search(text)
        sha = hashlib.sha256(raw).hexdigest()
        db.execute("BEGIN IMMEDIATE")
        inv = None
        if m:
            row = db.execute("SELECT id FROM invitation WHERE token = ?",
                             (m.group(1),)).fetchone()
            inv = row[0] if row else None
        db.execute("INSERT INTO inbound (message_id, sha256, source_key) "
                   "VALUES (?, ?, ?)", (msg.get("Message-ID"), sha, name))
        if inv is not None and n:
            db.execute("INSERT INTO answer (invitation_id, metric, score, "
                       "comment) VALUES (?, 'nps', ?, ?)",
                       (inv, int(n.group(1)), text[n.end():n.end() + 200]))
            db.execute("UPDATE invitation SET state = 'answered' WHERE id = ?",
                       (inv,))
            recorded += 1
        db.execute("COMMIT")
        os.rename(path, os.path.join(cur, name + ":2,S"))
    db.close()
    print("recorded %d" % recorded)


if __name__ == "__main__":
    main()
