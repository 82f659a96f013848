#!/usr/bin/env python3
"""Rules for production code (core/, server/, player/), run as a unit test:

- no file over 700 lines, no function over 80;
- a timed wait (sleep_for, sleep_until, wait_for, wait_until, expires_after,
  expires_at) only in a file that docs/ARCHITECTURE.md names in its list of
  timers whose interval is a real deadline: anything else waits for an event.

Prints each breach as path:line: message; exits 1 if there is any. Functions
are found by brace matching after comments and literals are blanked, so a
lambda counts as part of the function that holds it.
"""
import re
import sys
from pathlib import Path

MAX_FILE = 700
MAX_FUNCTION = 80
NOT_FUNCTIONS = re.compile(
    r"\b(namespace|class|struct|union|enum)\b[^;{}()]*$|=\s*$|^\s*(if|for|while|switch|catch|do|else|try)\b")


def blank(text):
    """Comments and string/char literals become spaces; newlines stay."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (j + 1 - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text):
    """Yields (first line, line count, head) of each outermost function body."""
    code = blank(text)
    depth_stack = []  # for each open brace: True if it opens a function
    start = 0  # where the current statement began
    inside = 0  # open function braces
    for i, c in enumerate(code):
        if c == "{":
            head = code[start:i]
            is_fn = (inside == 0 and ")" in head and not NOT_FUNCTIONS.search(head.strip())
                     and not head.strip().startswith("#"))
            if is_fn:
                fn_start = start + len(head) - len(head.lstrip())
                fn_line = code.count("\n", 0, fn_start) + 1
                depth_stack.append((True, fn_line, head.strip()))
                inside += 1
            else:
                depth_stack.append((False, 0, ""))
            start = i + 1
        elif c == "}":
            if depth_stack:
                is_fn, line, head = depth_stack.pop()
                if is_fn:
                    inside -= 1
                    end_line = code.count("\n", 0, i) + 1
                    yield line, end_line - line + 1, head
            start = i + 1
        elif c == ";" and inside == 0:
            start = i + 1
        elif c == ";":
            start = i + 1


TIMED_WAIT = re.compile(r"\b(sleep_for|sleep_until|wait_for|wait_until|expires_after|expires_at)\s*\(")


def main(argv):
    repo = Path(__file__).resolve().parent.parent
    roots = argv[1:] or ["core", "server", "player"]
    architecture = (repo / "docs/ARCHITECTURE.md").read_text()
    architecture = architecture[architecture.find("## Timers"):]
    breaches = []
    for root in roots:
        for full in sorted((repo / root).rglob("*")):
            if full.suffix not in (".cpp", ".hpp", ".h", ".cc"):
                continue
            path = full.relative_to(repo)
            text = full.read_text(errors="replace")
            code = blank(text)
            for m in TIMED_WAIT.finditer(code):
                if full.suffix != ".hpp" and f"{path.name}" not in architecture:
                    line = code.count("\n", 0, m.start()) + 1
                    breaches.append(f"{path}:{line}: a timed wait ({m.group(1)}) in a file "
                                    "docs/ARCHITECTURE.md does not list among its timers")
            lines = text.count("\n")
            if lines > MAX_FILE:
                breaches.append(f"{path}:1: {lines} lines (at most {MAX_FILE})")
            for line, count, head in functions(text):
                if count > MAX_FUNCTION:
                    name = re.sub(r"\s+", " ", head)[-70:]
                    breaches.append(f"{path}:{line}: function of {count} lines (at most {MAX_FUNCTION}): {name}")
    for b in breaches:
        print(b)
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
