#!/usr/bin/env python3
"""The dependency policy, checked offline from Cargo.lock in about a second (tests/run runs it).

1. No `ring`, `openssl-sys` or `native-tls` in the normal dependency tree: TLS and crypto come from
   rustls on aws-lc-rs only (one audited stack; no system OpenSSL to match at deploy time).
2. Every crate that is built (normal, build and dev dependencies) is under a licence of the allow
   list below, read as an SPDX expression: `A OR B` needs one of them allowed, `A AND B` both,
   `A WITH exception` is `A`, and the old `A/B` form is `A OR B`. Nothing copyleft: no GPL, LGPL,
   AGPL; MPL-2.0 only if something comes to need it (nothing does).
"""

import re
import subprocess
import sys

BANNED = {"ring", "openssl-sys", "native-tls"}

ALLOWED = {
    "Apache-2.0",
    "MIT",
    "MIT-0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "Unicode-3.0",
    "CDLA-Permissive-2.0",
    "OpenSSL",  # aws-lc, OpenSSL's code under its original licence
}


def tree(edges):
    out = subprocess.run(
        ["cargo", "tree", "--locked", "--offline", "-e", edges, "--prefix", "none",
         "--format", "{p}\t{l}"],
        check=True, capture_output=True, text=True,
    ).stdout
    packages = {}
    for line in out.splitlines():
        package, _, licence = line.removesuffix(" (*)").partition("\t")
        packages[package.split(" (")[0]] = licence.strip()
    return packages


def allowed(expression):
    """Whether an SPDX licence expression can be satisfied with ALLOWED licences."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression.replace("/", " OR "))
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        position += 1
        return tokens[position - 1]

    def atom():
        if peek() == "(":
            take()
            value = any_of()
            if take() != ")":
                raise ValueError(expression)
            return value
        value = take() in ALLOWED
        if peek() == "WITH":
            take()
            take()
        return value

    def all_of():
        value = atom()
        while peek() == "AND":
            take()
            value = atom() and value
        return value

    def any_of():
        value = all_of()
        while peek() == "OR":
            take()
            value = all_of() or value
        return value

    try:
        value = any_of()
    except (IndexError, ValueError):
        return False
    return value and position == len(tokens)


def main():
    problems = []
    for package in tree("normal"):
        if package.split(" ")[0] in BANNED:
            problems.append(f"{package}: banned from the normal dependency tree")
    for package, licence in sorted(tree("normal,build,dev").items()):
        if not licence or not allowed(licence):
            problems.append(f"{package}: licence {licence or '(none)'} is not on the allow list")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        assert allowed("MIT OR Apache-2.0") and allowed("MIT/Apache-2.0")
        assert allowed("(MIT OR Apache-2.0) AND Unicode-3.0")
        assert allowed("Apache-2.0 WITH LLVM-exception OR MIT")
        assert allowed("ISC AND (Apache-2.0 OR ISC) AND OpenSSL")
        assert not allowed("GPL-3.0-only") and not allowed("MIT AND LGPL-2.1")
        assert allowed("GPL-2.0 OR MIT") and not allowed("") and not allowed("MIT AND (")
        sys.exit(0)
    sys.exit(main())
