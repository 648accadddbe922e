#!/usr/bin/python3
"""Writes the seed corpora of the wire-server fuzz targets.

  tests/fuzz/corpus/pgwire/   whole client sessions (the bytes a client
                              sends, startup packet first) for fuzz_pgwire
  tests/fuzz/corpus/pglex/    SQL text for fuzz_pglex
  tests/fuzz/corpus/pgparam/  Bind parameters for fuzz_pgparam (layout in
                              fuzz_common.h: OID selector, flags, value)

Seeds are named seed-*, so re-running this script replaces them without
touching the inputs the fuzzer found (named by their SHA-1).  The table
every session queries is "fz" (tests/fuzz/fuzz_common.h): name, team,
tags (STRING MV), nums (INT MV), active, doc (JSON), raw (BYTES), games,
hits, avg, ratio, ts.

usage: make_seeds.py [corpus-dir]   (default: the corpus beside this file)
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- message builders ------------------------------------------------------


def cstr(s):
    if isinstance(s, str):
        s = s.encode()
    return s + b"\0"


def msg(t, body=b""):
    return t.encode() + struct.pack("!i", len(body) + 4) + body


def startup(params=None, version=196608):
    if params is None:
        params = {"user": "fz", "database": "waybill"}
    body = struct.pack("!i", version)
    for k, v in params.items():
        body += cstr(k) + cstr(v)
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def special(code, extra=b""):
    body = struct.pack("!i", code) + extra
    return struct.pack("!i", len(body) + 4) + body


SSL = special(80877103)
GSS = special(80877104)
START = startup()


def Q(sql):
    return msg("Q", cstr(sql))


def P(name, sql, oids=()):
    return msg("P", cstr(name) + cstr(sql) + struct.pack("!h", len(oids)) +
               b"".join(struct.pack("!i", o) for o in oids))


def B(portal, stmt, params=(), fmts=(), rfmts=()):
    body = cstr(portal) + cstr(stmt) + struct.pack("!h", len(fmts))
    body += b"".join(struct.pack("!h", f) for f in fmts)
    body += struct.pack("!h", len(params))
    for p in params:
        if p is None:
            body += struct.pack("!i", -1)
        else:
            if isinstance(p, str):
                p = p.encode()
            body += struct.pack("!i", len(p)) + p
    body += struct.pack("!h", len(rfmts)) + b"".join(struct.pack("!h", f) for f in rfmts)
    return msg("B", body)


def D(kind, name):
    return msg("D", kind.encode() + cstr(name))


def E(portal, maxrows=0):
    return msg("E", cstr(portal) + struct.pack("!i", maxrows))


def C(kind, name):
    return msg("C", kind.encode() + cstr(name))


S = msg("S")
H = msg("H")
X = msg("X")


def ext(sql, params=(), oids=(), fmts=(), rfmts=(), maxrows=0, name="", portal=""):
    """Parse/Bind/Describe/Execute/Sync of one statement."""
    return (P(name, sql, oids) + B(portal, name, params, fmts, rfmts) + D("P", portal) +
            E(portal, maxrows) + S)


# ---- pgwire sessions -------------------------------------------------------


def sessions():
    s = {}
    s["startup-plain"] = START + X
    s["startup-ssl"] = SSL + START + Q("SELECT 1") + X
    s["startup-gss"] = GSS + START + Q("SELECT 1") + X
    s["startup-gss-ssl"] = GSS + SSL + START + X
    s["startup-ssl-twice"] = SSL + SSL + START
    s["startup-gss-twice"] = GSS + GSS + START
    s["startup-cancel"] = special(80877102, struct.pack("!ii", 1, 1234))
    s["startup-cancel-short"] = special(80877102, struct.pack("!i", 1))
    s["startup-31-pq"] = startup({"user": "fz", "database": "waybill", "_pq_.foo": "1",
                                  "_pq_.bar": "x"}, version=196609) + Q("SELECT 1") + X
    s["startup-no-user"] = startup({"database": "waybill"})
    s["startup-bad-db"] = startup({"user": "fz", "database": "other"})
    s["startup-no-db"] = startup({"user": "waybill"}) + Q("SELECT 1")
    s["startup-v2"] = startup(version=131072)
    s["startup-v4"] = startup(version=262144)
    s["startup-options"] = startup({"user": "fz", "database": "waybill", "application_name": "psql",
                                    "client_encoding": "UTF8", "DateStyle": "ISO, MDY",
                                    "options": "-c search_path=public --timeoutMs=5000 -cextra_float_digits=3",
                                    "replication": "false"}) + Q("SHOW application_name") + X
    s["startup-bad-option"] = startup({"user": "fz", "database": "waybill", "options": "-c client_encoding=LATIN9"})
    s["startup-replication"] = startup({"user": "fz", "database": "waybill", "replication": "database"})
    s["startup-unknown-param"] = startup({"user": "fz", "database": "waybill", "foo.bar": "1",
                                          "TimeZone": "UTC"}) + Q("SHOW ALL") + X
    s["startup-no-terminator"] = START[:-1]
    s["startup-short-len"] = struct.pack("!i", 4) + b"\0\0\0\0"
    s["startup-huge-len"] = struct.pack("!i", 1 << 30) + START[4:]
    s["startup-truncated"] = START[:10]
    s["startup-long-user"] = startup({"user": "u" * 300, "database": "waybill"}) + X

    # simple protocol
    s["q-select"] = START + Q("SELECT name, team, games, avg, ts FROM fz ORDER BY games LIMIT 5") + X
    s["q-all-types"] = START + Q("SELECT * FROM fz") + X
    s["q-multi"] = START + Q("SELECT 1; SELECT 'a;b' AS x; SELECT count(*) FROM fz;") + X
    s["q-empty"] = START + Q("") + Q(" ; ; -- nothing\n") + X
    s["q-error-stops"] = START + Q("SELECT 1; SELEC 2; SELECT 3") + Q("SELECT 4") + X
    s["q-bad-sql"] = START + Q("SELECT FROM WHERE") + Q("SELECT nosuch FROM fz") + Q("SELECT * FROM nosuch") + \
        Q("SELECT 'unterminated") + Q("SELECT 1 /* open comment") + Q("SELECT $1") + X
    s["q-agg"] = START + Q("SELECT team, count(*), sum(hits), avg(avg), max(ts) FROM fz GROUP BY team ORDER BY 2 DESC") + X
    s["q-mv-json"] = START + Q("SELECT tags, nums, doc, raw, JSONEXTRACTSCALAR(doc, '$.a', 'INT') FROM fz WHERE tags = 'ATL'") + X
    s["q-sys"] = START + Q("SELECT * FROM sys.tables") + Q("SELECT version()") + \
        Q("SELECT current_database(), current_user") + X
    s["q-catalog"] = START + Q("SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace") + \
        Q("SELECT oid, typname FROM pg_type") + X
    s["q-set-show"] = START + Q("SET client_min_messages = warning") + Q("SET timeoutMs = 1000") + \
        Q("SET skipUpsert = true") + Q("SHOW client_min_messages") + Q("SHOW ALL") + \
        Q("RESET client_min_messages") + Q("RESET ALL") + Q("SET SESSION TIME ZONE 'UTC'") + \
        Q("SET search_path TO public, \"$user\"") + Q("SHOW server_version") + Q("SET nosuch = 1") + \
        Q("SET client_encoding = 'SQL_ASCII'") + Q("SET LOCAL statement_timeout = '5s'") + X
    s["q-txn"] = START + Q("BEGIN") + Q("SELECT 1") + Q("COMMIT") + Q("START TRANSACTION ISOLATION LEVEL READ COMMITTED") + \
        Q("SELEC") + Q("SELECT 1") + Q("ROLLBACK") + Q("BEGIN; SAVEPOINT a; ROLLBACK TO a; RELEASE a; END") + \
        Q("COMMIT") + Q("ABORT") + Q("COMMIT PREPARED 'x'") + X
    s["q-cursor"] = START + Q("BEGIN") + Q("DECLARE c1 CURSOR WITH HOLD FOR SELECT name, games FROM fz ORDER BY games") + \
        Q("FETCH 3 FROM c1") + Q("FETCH NEXT c1") + Q("MOVE 2 IN c1") + Q("FETCH ALL FROM c1") + \
        Q("FETCH FORWARD 1 c1") + Q("CLOSE c1") + Q("FETCH 1 FROM c1") + \
        Q("DECLARE \"C2\" NO SCROLL CURSOR FOR SELECT * FROM fz") + Q("FETCH 100 \"C2\"") + \
        Q("CLOSE ALL") + Q("COMMIT") + X
    s["q-cursor-noblock"] = START + Q("DECLARE c CURSOR FOR SELECT 1") + Q("FETCH BACKWARD 1 FROM c") + \
        Q("DECLARE c SCROLL CURSOR FOR SELECT 1") + Q("FETCH ABSOLUTE 1 c") + X
    s["q-copy"] = START + Q("COPY (SELECT name, tags, raw, doc FROM fz) TO STDOUT") + \
        Q("COPY (SELECT * FROM fz ORDER BY ts) TO STDOUT WITH (FORMAT csv, HEADER true, DELIMITER ';')") + \
        Q("COPY fz TO STDOUT CSV HEADER") + Q("COPY fz (name, games) TO STDOUT") + \
        Q("COPY fz FROM STDIN") + Q("COPY (SELECT 1 TO STDOUT") + Q("COPY (SELECT 1) TO '/tmp/x'") + \
        Q("COPY (SELECT 1) TO STDOUT (FORMAT binary)") + X
    s["q-copy-data"] = START + msg("d", b"1\t2\n") + msg("c") + msg("f", cstr("no")) + Q("SELECT 1") + X
    s["q-dealloc-discard"] = START + P("s1", "SELECT 1") + S + Q("DEALLOCATE s1") + Q("DEALLOCATE ALL") + \
        Q("DEALLOCATE PREPARE nosuch") + Q("DISCARD ALL") + Q("DISCARD PLANS") + X
    s["q-strings"] = START + Q("SELECT E'a\\nb\\'c', $$dollar;$$, $t$x$t$, U&'\\0041', 'it''s', \"name\" FROM fz LIMIT 1") + X
    s["q-options"] = START + Q("SET useMultistageEngine = true") + Q("SELECT a.name, b.team FROM fz a JOIN fz b ON a.name = b.name LIMIT 3") + \
        Q("SELECT name, ROW_NUMBER() OVER (PARTITION BY team ORDER BY games) FROM fz") + X
    s["q-explain"] = START + Q("EXPLAIN PLAN FOR SELECT * FROM fz WHERE team = 'ATL'") + Q("SELECT 1 OPTION(timeoutMs=100)") + X
    s["q-nul-in-query"] = START + msg("Q", b"SELECT 1\0SELECT 2\0") + X
    s["q-no-nul"] = START + msg("Q", b"SELECT 1") + X

    # extended protocol
    s["x-basic"] = START + ext("SELECT name, games FROM fz WHERE games > $1", ["100"], [23]) + X
    s["x-no-oids"] = START + ext("SELECT $1, $2, $3", ["1", "two", None]) + X
    s["x-types-text"] = START + ext(
        "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12",
        ["t", "32767", "-5", "9223372036854775807", "1.5", "-2.5e10", "NaN", "2024-01-01 12:00:00",
         "2024-01-02", "\\x0102", "{\"a\":1}", "123.456"],
        [16, 21, 23, 20, 700, 701, 1700, 1114, 1082, 17, 114, 1700]) + X
    s["x-types-binary"] = START + ext(
        "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10",
        [b"\x01", struct.pack("!h", -7), struct.pack("!i", 123456), struct.pack("!q", -(1 << 40)),
         struct.pack("!f", 1.25), struct.pack("!d", -3.5), struct.pack("!q", 757382400000000),
         b"\x00\xffbytes", b"\x01{\"k\": [1,2]}", b"text"],
        [16, 21, 23, 20, 700, 701, 1114, 17, 3802, 25], fmts=[1]) + X
    s["x-numeric-binary"] = START + ext(
        "SELECT $1, $2, $3",
        [struct.pack("!hhhhhh", 2, 1, 0, 2, 12, 3456), struct.pack("!hhhh", 0, 0, 0xC000 - 65536, 0),
         struct.pack("!hhhhh", 1, -2, 0x4000, 6, 42)], [1700, 1700, 1700], fmts=[1]) + X
    s["x-bad-binary"] = START + ext("SELECT $1", [b"\x01\x02\x03"], [23], fmts=[1]) + \
        ext("SELECT $1", [b"xx"], [1007], fmts=[1]) + ext("SELECT $1", ["abc"], [23]) + \
        ext("SELECT $1", ["maybe"], [16]) + ext("SELECT $1", [b"a\0b"], [25]) + X
    s["x-mixed-formats"] = START + ext("SELECT $1::int + $2", [struct.pack("!i", 5), "6"], [23, 23],
                                       fmts=[1, 0], rfmts=[1]) + X
    s["x-result-binary"] = START + ext("SELECT * FROM fz", rfmts=[1]) + \
        ext("SELECT name, games, avg, ts, tags, nums, raw, active, ratio, hits, doc FROM fz",
            rfmts=[0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]) + X
    s["x-row-limit"] = START + P("", "SELECT name FROM fz ORDER BY name") + B("", "") + D("P", "") + \
        E("", 2) + E("", 2) + E("", 100) + E("", 1) + S + X
    s["x-named"] = START + P("st1", "SELECT name FROM fz WHERE team = $1", [25]) + D("S", "st1") + S + \
        B("p1", "st1", ["ATL"]) + B("p2", "st1", ["SFN"]) + E("p1", 1) + E("p2") + E("p1") + \
        C("P", "p1") + C("S", "st1") + C("S", "nosuch") + C("P", "nosuch") + S + \
        B("p3", "st1", ["LAD"]) + S + X
    s["x-describe-only"] = START + P("a", "SELECT * FROM fz") + D("S", "a") + D("S", "b") + D("P", "") + \
        D("X", "a") + S + X
    s["x-error-skip"] = START + P("", "SELEC 1") + B("", "") + E("") + S + P("", "SELECT 1") + B("", "") + \
        E("") + S + X
    s["x-wrong-params"] = START + P("", "SELECT $1, $2") + B("", "", ["1"]) + E("") + S + \
        P("", "SELECT 1") + B("", "", ["1", "2"]) + E("") + S + \
        P("", "SELECT $1", [23]) + B("", "", ["1"], fmts=[1, 1, 1]) + E("") + S + X
    s["x-flush"] = START + P("", "SELECT 1") + H + B("", "") + H + E("") + H + S + X
    s["x-utility"] = START + ext("SET application_name = 'x'") + ext("SHOW application_name") + \
        ext("BEGIN") + ext("DECLARE c CURSOR FOR SELECT * FROM fz") + ext("FETCH 2 FROM c") + \
        ext("COPY (SELECT 1) TO STDOUT") + ext("COMMIT") + ext("") + X
    s["x-multi-stmt"] = START + ext("SELECT 1; SELECT 2") + X
    s["x-txn-error"] = START + Q("BEGIN") + ext("SELECT nosuch") + ext("SELECT 1") + Q("ROLLBACK") + X
    s["x-no-sync"] = START + P("", "SELECT 1") + B("", "") + E("") + Q("SELECT 2") + X
    s["x-unnamed-replace"] = START + P("", "SELECT 1") + P("", "SELECT 2") + P("s", "SELECT 3") + \
        P("s", "SELECT 4") + S + X
    s["x-many-params"] = START + ext("SELECT " + ", ".join("$%d" % i for i in range(1, 41)),
                                     [str(i) for i in range(40)], [23] * 40) + X
    s["x-param-in-string"] = START + ext("SELECT '$1', $1, \"$2\" FROM fz WHERE name = $1 -- $3", ["Hank"]) + X
    s["x-in-list"] = START + ext("SELECT count(*) FROM fz WHERE team IN ($1, $2) AND games BETWEEN $3 AND $4",
                                 ["ATL", "NYA", "-1000", "1000"], [25, 25, 20, 20]) + X
    s["x-timestamp-param"] = START + ext("SELECT count(*) FROM fz WHERE ts > $1", [struct.pack("!q", 0)], [1114],
                                         fmts=[1]) + X

    # malformed messages
    s["m-unknown-type"] = START + msg("z", b"abc")
    s["m-bad-length"] = START + b"Q" + struct.pack("!i", 2)
    s["m-huge-length"] = START + b"Q" + struct.pack("!i", 0x7fffffff) + b"SELECT 1\0"
    s["m-truncated"] = START + Q("SELECT 1")[:-3]
    s["m-parse-short"] = START + msg("P", b"\0SELECT 1\0\0") + S + X
    s["m-parse-neg-params"] = START + msg("P", b"\0SELECT 1\0" + struct.pack("!h", -1)) + S + X
    s["m-bind-short"] = START + P("", "SELECT $1") + msg("B", b"\0\0" + struct.pack("!hh", 0, 1) +
                                                          struct.pack("!i", 100) + b"ab") + S + X
    s["m-bind-neg-count"] = START + P("", "SELECT 1") + msg("B", b"\0\0" + struct.pack("!hhh", -3, 0, 0)) + S + X
    s["m-bind-neg-len"] = START + P("", "SELECT $1") + msg("B", b"\0\0" + struct.pack("!hh", 0, 1) +
                                                            struct.pack("!i", -5) + struct.pack("!h", 0)) + S + X
    s["m-execute-neg"] = START + P("", "SELECT 1") + B("", "") + E("", -1) + S + X
    s["m-describe-empty"] = START + msg("D") + msg("C") + msg("E") + S + X
    s["m-password-unexpected"] = START + msg("p", cstr("secret")) + X
    s["m-garbage-after-x"] = START + X + b"\xff\xff\xff"
    s["m-sync-before-startup"] = S + START
    return s


# ---- pglex texts -----------------------------------------------------------

LEX = [
    "SELECT 1; SELECT 2;",
    "SELECT 'a;b', \"c;d\", E'\\';', $$x;$$, $tag$ $$ ; $tag$ FROM t -- ;\n;",
    "/* a /* nested ; */ still */ SELECT $1, $22, $0, $999999999999 FROM t WHERE x = $2",
    "SET search_path TO \"$user\", public; SHOW ALL; RESET ALL",
    "DECLARE c CURSOR WITH HOLD FOR SELECT 1; FETCH FORWARD 10 FROM c; MOVE ABSOLUTE -1 IN c; CLOSE c",
    "COPY (SELECT (1), ((2))) TO STDOUT WITH (FORMAT csv, HEADER)",
    "SELECT 1.5e10, .5, 5., 1e, 0x1F, 1_000, U&'\\0041' UESCAPE '!', B'101', X'ff', N'x'",
    "SELECT 'unterminated",
    "SELECT \"unterminated",
    "SELECT $$unterminated",
    "SELECT 1 /* unterminated",
    "E'\\\\\\'",
    "$a$$b$$a$",
    "$1$2$3",
    "a$1 $ $$ $1a $_$ x $_$",
    ";;;  ;\n\t;",
    "SELECT 'é', \"ünï\", ünïcödé FROM 表",
]

# ---- pgparam inputs --------------------------------------------------------
OIDS = [0, 16, 17, 19, 20, 21, 23, 25, 26, 114, 700, 701, 705, 1000, 1001, 1005, 1007, 1009,
        1016, 1021, 1022, 1042, 1043, 1082, 1114, 1115, 1184, 1700, 199, 3802, 1083, 1266, 2950, 3904]


def param(oid, binary, value, null=False):
    return bytes([OIDS.index(oid)]) + bytes([(1 if binary else 0) | (2 if null else 0)]) + value


def params():
    p = {}
    text = {
        16: [b"t", b"off", b"YES", b"maybe"], 20: [b"9223372036854775807", b"-9223372036854775808", b" 12 ", b"1e3"],
        21: [b"-1", b"+5"], 23: [b"42", b"--1", b"1;DROP"], 700: [b"1.5", b"-Infinity", b"NaN", b"1e999", b"-.5e-3"],
        701: [b"3.14159", b"inf", b"0x10"], 1700: [b"123.4500", b"-0"], 25: [b"it's", b"a\\b", b"$$;--"],
        1114: [b"2024-01-01 00:00:00", b"'; --"], 1082: [b"2024-02-30"], 17: [b"\\xdeadbeef"],
        114: [b"{\"a\": \"'\"}"], 0: [b"plain"], 1009: [b"{a,\"b c\",NULL}"], 3802: [b"{}"],
    }
    for oid, vals in text.items():
        for i, v in enumerate(vals):
            p["t%d-%d" % (oid, i)] = param(oid, False, v)
    binary = {
        16: [b"\x01", b"\x00\x00"], 21: [struct.pack("!h", -32768)], 23: [struct.pack("!i", -2147483648)],
        20: [struct.pack("!q", -(1 << 63))], 26: [struct.pack("!I", 4000000000)],
        700: [struct.pack("!f", float("nan")), struct.pack("!f", 1e-40)],
        701: [struct.pack("!d", float("-inf")), struct.pack("!d", 1e300)],
        1114: [struct.pack("!q", (1 << 63) - 1), struct.pack("!q", -(1 << 63)), struct.pack("!q", 0)],
        1184: [struct.pack("!q", -1)],
        1700: [struct.pack("!hhhhhh", 2, 1, 0, 2, 12, 3456), struct.pack("!hhhhh", 1, -3, 0x4000, 12, 7),
               struct.pack("!hhhh", 0, 0, -16384, 0), struct.pack("!hhhhh", 1, 32767, 0, 32767, 9999)],
        17: [b"\x00\x01'\\"], 3802: [b"\x01{\"x\":1}", b"\x02{}"], 25: [b"bin'ary"], 1007: [b"\x00" * 20],
        1082: [struct.pack("!i", 0)],
    }
    for oid, vals in binary.items():
        for i, v in enumerate(vals):
            p["b%d-%d" % (oid, i)] = param(oid, True, v)
    p["null"] = param(23, False, b"", null=True)
    p["raw-oid"] = b"\xf0" + struct.pack("!i", 99999) + b"\x01abc"
    return p


def write(dirpath, items):
    os.makedirs(dirpath, exist_ok=True)
    for name in os.listdir(dirpath):
        if name.startswith("seed-"):
            os.remove(os.path.join(dirpath, name))
    for name, data in items.items():
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(dirpath, "seed-" + name), "wb") as f:
            f.write(data)
    return len(items)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    n = write(os.path.join(root, "pgwire"), sessions())
    n += write(os.path.join(root, "pglex"), {"%02d" % i: t for i, t in enumerate(LEX)})
    n += write(os.path.join(root, "pgparam"), params())
    print("wrote %d seeds under %s" % (n, root))


if __name__ == "__main__":
    main()
