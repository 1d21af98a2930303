"""``bayesma warmup``: compile the common NUTS model families once; where the cache is; clearing it."""

from __future__ import annotations

import argparse

from bayesma.cli.console import say
from bayesma.cli.errors import EXIT_OK

__all__ = ["add_parser", "run"]


def add_parser(sub, formatter) -> None:
    """Register ``bayesma warmup`` on the subcommand parser *sub*."""
    p = sub.add_parser(
        "warmup", help="compile the common NUTS model families once (cached on disk for later runs)",
        formatter_class=formatter,
        description="The first NUTS fit of a model family compiles it (10-20 s); the result is kept on disk, "
                    "so later runs start sampling at once. This compiles the common families now. "
                    "--where prints the cache directory; --clear deletes bayesma's compiled files there.")
    p.add_argument("--families", nargs="+", metavar="NAME",
                   help="families to compile: 'random effects', 'meta-regression', 'common effect', 'student-t', "
                        "'subgroup tau', 'selection model', or all (default: random effects and meta-regression)")
    p.add_argument("--where", action="store_true", help="print the cache directory and its bayesma files, and stop")
    p.add_argument("--clear", action="store_true", help="delete bayesma's compiled files from the cache, and stop")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    p.set_defaults(command_module="warmup")


def run(args: argparse.Namespace) -> int:
    from bayesma.models import compile as mc

    if args.clear:
        say(f"deleted {mc.clear_cache()} file(s) from {mc.cache_dir()}")
        return EXIT_OK
    if args.where:
        files = mc.cache_files()
        say(f"cache directory: {mc.cache_dir()} ({len(files)} bayesma file(s), "
            f"{sum(p.stat().st_size for p in files) / 1e6:.1f} MB)")
        return EXIT_OK
    from bayesma.errors import InputError
    from bayesma.models.warmup import DEFAULT_FAMILIES, FAMILIES, warmup

    names = list(DEFAULT_FAMILIES if not args.families else FAMILIES if args.families == ["all"] else args.families)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:  # before saying that anything compiles
        raise InputError(f"unknown model families {unknown}; choose from {list(FAMILIES)} or 'all'")
    from bayesma._progress import elapsed

    say(f"{mc.COMPILE_MESSAGE}; cache: {mc.cache_dir()}")
    for name in names:  # the family and its seconds on stderr while it compiles (7-40 s cold), its line after
        lines: list[str] = []
        with elapsed(f"  {name}", done=None, still="still compiling"):  # the live line is erased at the end
            warmup([name], progressbar=False, say=lines.append)
        for line in lines:
            say("  " + line)
    return EXIT_OK
