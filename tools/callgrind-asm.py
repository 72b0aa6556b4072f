#!/usr/bin/env python3
"""The instructions a function executed, each with its count a step, from a callgrind run
made with --dump-instr=yes (docs/performance.md, "How to measure").

    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file=cg.out \
        target/release/deps/profile-<hash> pingpong 1000 5
    tools/callgrind-asm.py cg.out target/release/deps/profile-<hash> drive_steps_loop 20020

Arguments: the callgrind output, the binary it ran, a part of the function's name, the
divisor (the run's steps, to print counts a step), and optionally the least count shown
(default 0.1). Prints the function's self count a step, then each instruction executed at
least that often, in address order, under the source line objdump gives it. Counts are
self counts (a call's callee is not included). Needs objdump (binutils).
"""
import collections
import re
import signal
import subprocess
import sys


def position(token, previous):
    """A callgrind position: absolute, relative (+n / -n) or the same (*)."""
    if token == "*":
        return previous
    if token[0] in "+-":
        return previous + int(token, 0)
    return int(token, 0)


def counts(path, pattern):
    """Self instruction counts by address in the functions whose name holds `pattern`."""
    names, counts = {}, collections.Counter()
    current, address, line, after_calls = None, 0, 0, False
    with open(path) as f:
        for raw in f:
            text = raw.rstrip("\n")
            m = re.match(r"^(c?)fn=\((\d+)\)(?: (.*))?$", text)
            if m:
                if m.group(3):
                    names[m.group(2)] = m.group(3)
                if not m.group(1):
                    current, after_calls = names.get(m.group(2), "?"), False
                continue
            if text.startswith("calls="):
                # The next cost line is the call's inclusive cost, not the caller's own.
                after_calls = True
                continue
            if not text or text[0] not in "0123456789+-*":
                continue
            tokens = text.split()
            if len(tokens) < 2:
                continue
            address, line = position(tokens[0], address), position(tokens[1], line)
            if after_calls:
                after_calls = False
                continue
            if current and pattern in current and len(tokens) > 2:
                counts[address] += int(tokens[2])
    return counts


def main():
    # Quiet when piped into `head`.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    out, binary, pattern, divisor = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    least = float(sys.argv[5]) if len(sys.argv) > 5 else 0.1
    by_address = counts(out, pattern)
    if not by_address:
        sys.exit(f"no instructions of a function named like {pattern!r} in {out}")
    print(f"{sum(by_address.values()) / divisor:.1f} instructions a step in {pattern}")
    low, high = min(by_address), max(by_address)
    listing = subprocess.run(
        ["objdump", "-d", "-l", "--no-show-raw-insn", binary, f"--start-address={low}", f"--stop-address={high + 1}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    source = ""
    for text in listing.splitlines():
        m = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", text)
        if m:
            address = int(m.group(1), 16)
            n = by_address.get(address, 0) / divisor
            if n >= least:
                if source:
                    print(f"    # {source}")
                    source = ""
                print(f"{n:7.2f} {address:x} {m.group(2)}")
        elif text.startswith("/") and ":" in text:
            source = text


if __name__ == "__main__":
    main()
