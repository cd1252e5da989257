#!/usr/bin/env python3
"""py_errors_catalogue.py - docs/errors.md against the code and the tests.

Every row of docs/errors.md whose first cell is an ID (E-...) is an entry:

    | ID | Message | Status | Cause and what to do | Test |

and its Test cell is either

    `tests/FILE` `NAME` "fragment" ["fragment" ...]

(the test NAME in tests/FILE provokes the error and checks a message that
holds every fragment) or "none: reason" for the few errors no test can
provoke, which must also be in ALLOW below. The checks:

  catalogue_entries   IDs are unique, every row parses, every fragment is in
                      the row's message and in a string of src/ or cli/
                      (the entry describes a message the code can print).
  catalogue_tests     each named test exists and checks the fragments: in a
                      C test, string literals of the test function (or of
                      the file's functions it calls) hold them and it names
                      the entry's SOMA_ERR_ status; in a shell
                      test, the substring that expect_error checks (or the
                      check's line) holds them and the exit status matches.
  catalogue_coverage  every error site in src/ and cli/ (the format strings
                      of soma_fail, cli_error, cli_usage_error, label_error,
                      snprintf into msg/what, fprintf to stderr) is matched
                      by an entry: all the entry's fragments are in the
                      format. A new error without an entry fails here.
  catalogue_own_tests every test in tests/cli_errors.sh and tests/test_errors.c
                      (the catalogue's own) is named by an entry.

Prints PASS/FAIL lines for tests/run.sh; exits 1 on any failure.
"""
import os
import re
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "errors.md")
OWN_TESTS = ("tests/cli_errors.sh", "tests/test_errors.c")

# Errors no test can provoke, by ID, with the fragments that match their
# call sites and the reason. docs/errors.md lists the same IDs with
# "none: ..." in their Test cell.
ALLOW = {
    "E-SAVE-UTF8": (["is not valid UTF-8"],
                    "the setters and the loader refuse such strings first"),
    "E-CSV-TOO-MANY-FIELDS": (["too many fields"],
                              "a header of over 2^30 fields needs ~24 GiB of index"),
    "E-FILE-STREAM-SIZE": (["file is over the limit of"],
                           "4 GiB through a pipe: too much memory for the suite"),
    "E-NET-TOO-MANY-PARAMETERS": (["too many parameters"],
                                  "unreachable on 64-bit: 256 x 2^48 weights < SIZE_MAX/16"),
    "E-ST-SHAPE-RANGE": (["] is too large"],
                         "unreachable on 64-bit: JSON integers stop at 2^63-1"),
    "E-MODEL-META-COUNT": (["too many metadata entries"],
                           "over 2^31 entries cannot fit a 100 MB header"),
    "E-TABLE-TOO-MANY-IDS": (["too many to keep as text"],
                             "needs over 4 million distinct ids in one column"),
    "E-EVAL-CLASSES-OUTPUTS": (["class labels do not fit its"],
                               "the loader and cli_targets refuse such models first"),
    "E-PREP-TOO-WIDE": (["after one-hot encoding"],
                        "needs some 17 million categories in one table"),
    "E-PREDICT-WIDTH": (["network too wide"],
                        "rows x 2^24 units cannot overflow size_t on 64-bit"),
    "E-THREAD-START": (["cannot start worker thread"],
                       "needs pthread_create to fail"),
    "E-THREAD-CONDITION": (["cannot create a condition variable"],
                           "pthread_cond_init does not fail on Linux"),
    "E-GZIP-START": (["zlib cannot start"],
                     "needs a zlib version mismatch at run time"),
    "E-GZIP-STALLED": (["corrupt gzip data"],
                       "zlib stalls with input left only on a full output buffer"),
}

# Formats that only frame a message produced elsewhere (each framed message
# has its own entry), besides those with no words of their own.
FRAMES = {
    "soma %s: %s (see 'soma %s --help')": "the frame of every usage error "
                                          "(the intro of docs/errors.md)",
}
# Words a frame may hold: "FILE: line L, COLUMN: MESSAGE", "label 'TEXT'".
FRAME_WORDS = {"line", "label"}

STR = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
CALL = re.compile(r"\b(soma_fail|cli_error|cli_usage_error|label_error|snprintf|fprintf)\s*\(")
CONVERSION = re.compile(r"%[-+ #0-9.*]*(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp%]|%$")


def unescape(s):
    return s.replace('\\"', '"').replace("\\\\", "\\")


def strip_comments(text):
    """C comments blanked out (newlines kept), string literals untouched."""
    def keep(m):
        s = m.group(0)
        return s if s.startswith('"') else re.sub(r"[^\n]", " ", s)
    return re.sub(r'"(?:[^"\\\n]|\\.)*"|/\*.*?\*/|//[^\n]*', keep, text, flags=re.S)


def literal_chains(text):
    """The string literals of text, adjacent ones joined."""
    chains, cur, last = [], None, None
    for m in STR.finditer(text):
        if cur is not None and text[last:m.start()].strip() == "":
            cur += m.group(1)
        else:
            if cur is not None:
                chains.append(cur)
            cur = m.group(1)
        last = m.end()
    if cur is not None:
        chains.append(cur)
    return [unescape(c) for c in chains]


def call_args(text, open_paren):
    depth, i = 0, open_paren
    while i < len(text):
        c = text[i]
        if c == '"':
            i = STR.match(text, i).end()
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return text[open_paren + 1:i]
        i += 1
    return text[open_paren + 1:]


def source_files():
    for d in ("src", "cli"):
        for dp, _, files in os.walk(os.path.join(ROOT, d)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    path = os.path.join(dp, f)
                    yield os.path.relpath(path, ROOT), strip_comments(
                        open(path, encoding="utf-8").read())


def error_sites():
    """(file, line, format) of every place that words an error."""
    sites = []
    for rel, text in source_files():
        for m in CALL.finditer(text):
            name = m.group(1)
            args = call_args(text, m.end() - 1)
            first = args.split(",", 1)[0].strip()
            if name == "snprintf" and first not in ("msg", "what"):
                continue
            if name == "fprintf" and first != "stderr":
                continue
            chains = literal_chains(args)
            if not chains:
                continue  # the message is a variable: its origin is a site
            if name != "cli_usage_error":
                chains = chains[:1]  # the format; the rest are arguments
            line = text.count("\n", 0, m.start()) + 1
            sites += [(rel, line, c) for c in chains]
        # message tails chosen by a ternary (csv.c's bad_number)
        for m in re.finditer(r"const char \*what\s*=([^;]*);", text):
            line = text.count("\n", 0, m.start()) + 1
            sites += [(rel, line, c) for c in literal_chains(m.group(1))]
    return sites


def is_frame(fmt):
    if any(f in fmt for f in FRAMES):
        return True
    words = re.findall(r"[A-Za-z]+", CONVERSION.sub(" ", fmt))
    return all(w in FRAME_WORDS for w in words)


# ---- the catalogue ----------------------------------------------------------

TEST_CELL = re.compile(r"^`(tests/[^`]+)` `([^`]+)`((?:\s*\"[^\"]+\")+)\s*$")


def read_catalogue(problems):
    entries = []
    for n, line in enumerate(open(DOC, encoding="utf-8"), 1):
        if not line.startswith("| E-"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 5:
            problems.append("docs/errors.md:%d: %d cells, wanted 5" % (n, len(cells)))
            continue
        eid, message, status, cause, test = cells
        e = {"id": eid, "line": n, "message": message, "status": status,
             "cause": cause, "file": None, "name": None, "fragments": []}
        if not re.fullmatch(r"E-[A-Z0-9]+(?:-[A-Z0-9]+)*", eid):
            problems.append("docs/errors.md:%d: bad ID '%s'" % (n, eid))
        if not cause:
            problems.append("%s: no cause" % eid)
        if test.startswith("none:"):
            e["fragments"] = ALLOW.get(eid, ([], ""))[0]
        else:
            m = TEST_CELL.match(test)
            if not m:
                problems.append("%s: Test cell '%s' is not `tests/FILE` `NAME` "
                                "\"fragment\"... or none: reason" % (eid, test))
                continue
            e["file"], e["name"] = m.group(1), m.group(2)
            e["fragments"] = re.findall(r'"([^"]+)"', m.group(3))
        entries.append(e)
    return entries


def expected_exit(status):
    m = re.search(r"exit (\d+)", status)
    return int(m.group(1)) if m else 1


def c_functions(path):
    """name -> body of each function defined in a C file."""
    text = strip_comments(open(path, encoding="utf-8").read())
    out = {}
    for m in re.finditer(r"^(?:static\s+)?(?:inline\s+)?[a-z_][\w \t\*]*?\b(\w+)\s*\([^;{]*\)\s*\{",
                         text, re.M):
        end = text.find("\n}\n", m.end())
        out.setdefault(m.group(1), text[m.end():end if end >= 0 else len(text)])
    return out


def c_body(path, name):
    """The test function's body and those of the file's functions it calls
    (helpers such as alloc_sweep that hold the checks)."""
    funcs = c_functions(path)
    if name not in funcs:
        return None
    body = funcs[name]
    called = set(re.findall(r"\b(\w+)\s*\(", body))
    return body + "".join(funcs[f] for f in sorted(called) if f in funcs and f != name)


def sh_statements(path):
    """name -> (words, raw text) of each statement `COMMAND NAME ...`
    (expect_... or check), with its continuation lines and the lines a
    quoted argument runs on to."""
    out = {}
    lines = open(path, encoding="utf-8").read().split("\n")
    for i, line in enumerate(lines):
        head = line.split()
        if len(head) < 2 or not re.fullmatch(r"expect_\w+|check", head[0]):
            continue
        stmt, j = line, i + 1
        while True:
            if stmt.endswith("\\") and j < len(lines):
                stmt, j = stmt[:-1] + " " + lines[j], j + 1
                continue
            try:
                words = shlex.split(stmt, comments=True)
            except ValueError:  # a quote closes on a later line
                if j < len(lines) and j - i < 20:
                    stmt, j = stmt + "\n" + lines[j], j + 1
                    continue
                words = head
            break
        out.setdefault(head[1], (words, stmt))
    return out


def check_test(e, problems):
    path = os.path.join(ROOT, e["file"])
    if not os.path.isfile(path):
        problems.append("%s: %s does not exist" % (e["id"], e["file"]))
        return
    if path.endswith(".c"):
        body = c_body(path, e["name"])
        if body is None:
            problems.append("%s: no test function %s in %s" % (e["id"], e["name"], e["file"]))
            return
        checked = "\n".join(literal_chains(body))
        codes = re.findall(r"SOMA_ERR_[A-Z]+", e["status"])
        if codes and not any(c in body for c in codes):
            problems.append("%s: %s in %s does not check the status %s"
                            % (e["id"], e["name"], e["file"], " or ".join(codes)))
    else:
        stmts = sh_statements(path)
        if e["name"] not in stmts:
            problems.append("%s: no check %s in %s" % (e["id"], e["name"], e["file"]))
            return
        words, raw = stmts[e["name"]]
        checked = raw
        if words[0].startswith("expect_error") and len(words) > 3:
            checked = words[3]
            want = expected_exit(e["status"])
            if words[2] != str(want):
                problems.append("%s: %s expects exit %s, the entry says %d"
                                % (e["id"], e["name"], words[2], want))
    for f in e["fragments"]:
        if f not in checked:
            problems.append("%s: %s in %s does not check \"%s\"" % (e["id"], e["name"], e["file"], f))


def main():
    failed = 0

    def report(name, problems, note=""):
        nonlocal failed
        if problems:
            failed += 1
            print("FAIL %s" % name)
            for p in problems:
                print("  " + p)
        else:
            print("PASS %s%s" % (name, note))

    problems = []
    entries = read_catalogue(problems)
    ids = [e["id"] for e in entries]
    for eid in sorted(set(i for i in ids if ids.count(i) > 1)):
        problems.append("%s appears more than once" % eid)
    strings = [c for _, text in source_files() for c in literal_chains(text)]
    for e in entries:
        if not e["fragments"]:
            problems.append("%s: no fragment to match" % e["id"])
        for f in e["fragments"]:
            if f not in e["message"]:
                problems.append("%s: fragment \"%s\" is not in its message" % (e["id"], f))
        if e["fragments"] and not any(all(f in s for f in e["fragments"]) for s in strings):
            problems.append("%s: no string in src/ or cli/ holds %s"
                            % (e["id"], " and ".join('"%s"' % f for f in e["fragments"])))
        if e["file"] is None and e["id"] not in ALLOW:
            problems.append("%s: untested, and not in ALLOW" % e["id"])
    for eid in ALLOW:
        if eid not in ids:
            problems.append("ALLOW lists %s, which docs/errors.md does not" % eid)
        elif any(e["id"] == eid and e["file"] for e in entries):
            problems.append("%s is tested: remove it from ALLOW" % eid)
    report("catalogue_entries", problems, " (%d entries, %d untested)"
           % (len(entries), sum(1 for e in entries if e["file"] is None)))

    problems = []
    for e in entries:
        if e["file"]:
            check_test(e, problems)
    report("catalogue_tests", problems)

    problems = []
    sites = error_sites()
    counted = 0
    for rel, line, fmt in sites:
        if is_frame(fmt):
            continue
        counted += 1
        if not any(e["fragments"] and all(f in fmt for f in e["fragments"])
                   for e in entries):
            problems.append("%s:%d: no entry in docs/errors.md matches \"%s\""
                            % (rel, line, fmt))
    report("catalogue_coverage", problems, " (%d error sites)" % counted)

    problems = []
    named = {(e["file"], e["name"]) for e in entries if e["file"]}
    for own in OWN_TESTS:
        path = os.path.join(ROOT, own)
        if not os.path.isfile(path):
            problems.append("%s does not exist" % own)
            continue
        if own.endswith(".c"):
            names = re.findall(r"^\s*RUN\((\w+)\);", open(path).read(), re.M)
        else:
            names = [n for n, (w, _) in sh_statements(path).items()
                     if w[0].startswith("expect_error")]
        for n in names:
            if (own, n) not in named:
                problems.append("%s: %s is named by no entry" % (own, n))
    report("catalogue_own_tests", problems)

    print("%d passed, %d failed" % (4 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
