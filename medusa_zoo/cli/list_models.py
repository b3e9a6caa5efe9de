"""List the registered architectures, or the published checkpoints with ``--pretrained``.

    medusa-zoo list                       # every architecture
    medusa-zoo list 'medusa*'             # those matching a pattern (fnmatch: * ? [...])
    medusa-zoo list --pretrained          # published checkpoints, arch.tag

Prints one name per line; exits with status 1 and says so when nothing matches.
"""

from __future__ import annotations

import argparse
import sys

HELP = "list architectures, or published checkpoints (--pretrained), matching a pattern"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. 'medusa*' (default: all)")
    p.add_argument("--pretrained", action="store_true", help="list published checkpoints (arch.tag) instead")


def run(args: argparse.Namespace) -> int:
    from ..api import list_models

    names = list_models(args.pattern, pretrained=args.pretrained)
    if not names:
        what = "published checkpoints" if args.pretrained else "architectures"
        print(f"no {what} match {args.pattern!r}; run 'list' without a pattern to see them all", file=sys.stderr)
        return 1
    print("\n".join(names))
    return 0
