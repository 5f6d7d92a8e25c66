"""Where the time goes, from a py-spy `--format raw` profile (collapsed stacks).

    python -m bench.hotspots PROFILE [--top 25] [--filter TEXT]

Prints the share of samples in which each function appears (inclusive time), so that
"the database round trips take 40 %" can be read off, not guessed. Idle samples (an event
loop waiting in `select`/`epoll`) are counted apart.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def hotspots(profile: Path, top: int, contains: str = "") -> str:
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n, frames = int(count), stack.split(";")
        total += n
        # An event loop waiting for I/O: its leaf is the selector's poll.
        if any(frame.startswith("select (") or "epoll" in frame for frame in frames[-2:]):
            idle += n
            continue
        for frame in dict.fromkeys(
            f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0] for f in frames
        ):
            if contains in frame:
                inclusive[frame] += n
    busy = total - idle
    lines = [f"samples {total}, idle (waiting for I/O) {idle / total:.0%}, busy {busy / total:.0%}"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--filter", default="", help="only frames containing this text")
    args = parser.parse_args()
    print(hotspots(args.profile, args.top, args.filter))
