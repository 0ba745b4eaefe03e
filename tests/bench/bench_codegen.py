"""Benchmarks of the Lexicon compiler and of the models it generates.

Run by hand from the repository root::

    .venv/bin/python tests/bench/bench_codegen.py [--quick]

Measures, for the official lexicon set:

* ``lexforge gen`` of all three artifacts into a scratch folder, cold (empty caches;
  the output folder is reused, so after the first round the files are there already),
  cold into a new output folder (a first run: every file created), warm with the
  output folder emptied (every file created again, in the emptied folders: on ext4
  that costs several times a creation in a new folder), with nothing to do, and
  ``lexforge check`` of this repository (a fresh process each, as a user runs them);
* import time, in a fresh interpreter, of one record module
  (``app.bsky.feed.post``), of the client as used (import, construct, one namespace)
  and of every client module;
* validation of realistic ``app.bsky.feed.post`` records (a seeded mix of plain posts,
  replies, facets, images, links, quotes, emoji text) with every check on, against the
  incumbent Python SDK (``atproto==0.0.73``, installed into .venv by hand; skipped with a
  message when absent), measured in the same run, alternating rounds.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LEXFORGE = str(BIN / "lexforge")

DIDS = [
    "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    "did:plc:z72i7hdynmk6r22z27h6tvur",
    "did:plc:vwzwgnygau7ed7b7wt5ux7y2",
    "did:plc:44ybard66vv44zksje25o7dz",
]
CIDS = [
    "bafyreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy",
    "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
]
BLOB = "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "bluesky",
    "atproto",
    "python",
    "lexicon",
    "post",
]
EMOJI = ["👍🏽", "🎉", "👨‍👩‍👧", "🇯🇵", "é"]
DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]  # 2024


def timed(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=cwd)
    return time.perf_counter() - start


def best(fn: Callable[[], float], rounds: int) -> tuple[float, float]:
    times = [fn() for _ in range(rounds)]
    return min(times), statistics.median(times)


# --- gen / check -----------------------------------------------------------------------------


def bench_gen(rounds: int) -> None:
    print("== lexforge gen / check (official set, all artifacts; fresh process each)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "generated"
        cmd = [
            LEXFORGE,
            "gen",
            "--lexicons",
            str(ROOT / "lexicons"),
            "--out",
            str(out),
            "--package",
            "lexforge.generated",
        ]

        def cold() -> float:
            cache = tempfile.mkdtemp(dir=tmp)
            return timed(cmd, env={**os.environ, "XDG_CACHE_HOME": cache})

        def first_run() -> float:
            # Nothing to reuse at all: empty caches and a new output folder (every file
            # is created; the row above finds them already written after its first round).
            cache = tempfile.mkdtemp(dir=tmp)
            fresh = Path(tempfile.mkdtemp(dir=tmp)) / "generated"
            new_cmd = [*cmd[:5], str(fresh), *cmd[6:]]
            return timed(new_cmd, env={**os.environ, "XDG_CACHE_HOME": cache})

        def warm_new_tree() -> float:
            for item in sorted(out.rglob("*"), reverse=True):
                if item.is_file():
                    item.unlink()
            return timed(cmd)

        b, m = best(cold, rounds)
        print(f"gen, cold format cache : best {b:.2f} s  median {m:.2f} s")
        b, m = best(first_run, rounds)
        print(f"gen, cold, new output  : best {b:.2f} s  median {m:.2f} s")
        b, m = best(warm_new_tree, rounds)
        print(f"gen, warm, empty output: best {b:.2f} s  median {m:.2f} s")
        b, m = best(lambda: timed(cmd), rounds)
        print(f"gen, nothing to do     : best {b:.2f} s  median {m:.2f} s")
    b, m = best(lambda: timed([LEXFORGE, "check"]), rounds)
    print(f"check (this repository): best {b:.2f} s  median {m:.2f} s")


# --- imports ---------------------------------------------------------------------------------

_IMPORT_ONE = """
import time
t = time.perf_counter()
import lexforge.generated.models.app.bsky.feed.post
print(time.perf_counter() - t)
"""

_IMPORT_CLIENT = """
import importlib, pkgutil, time
t = time.perf_counter()
import lexforge.generated.client as client
names = [i.name for i in pkgutil.walk_packages(client.__path__, client.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(time.perf_counter() - t)
"""

_IMPORT_CLIENT_USE = """
import time
t = time.perf_counter()
from lexforge.generated.client import Client
client = Client("https://pds.example")
client.com.atproto.repo
print(time.perf_counter() - t)
"""

_IMPORT_BASE = """
import time
t = time.perf_counter()
from lexforge.runtime.lex import LexModel  # pydantic.BaseModel and the model base
print(time.perf_counter() - t)
"""

_IMPORT_INCUMBENT = """
import time
t = time.perf_counter()
from atproto_client import models
models.AppBskyFeedPost.Record
print(time.perf_counter() - t)
"""


def in_process(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return float(out.strip())


def bench_imports(rounds: int, incumbent: bool) -> None:
    print("== import time (fresh interpreter, time spent in the import statement)")
    cases = [
        ("LexModel: pydantic + model base (floor)", _IMPORT_BASE),
        ("models.app.bsky.feed.post", _IMPORT_ONE),
        ("Client() + client.com.atproto.repo", _IMPORT_CLIENT_USE),
        ("whole client (every client module)", _IMPORT_CLIENT),
    ]
    if incumbent:
        cases.append(("incumbent: atproto_client models (post)", _IMPORT_INCUMBENT))
    for label, code in cases:
        b, m = best(lambda code=code: in_process(code), rounds)  # type: ignore[misc]
        print(f"{label:42}: best {b * 1000:6.0f} ms  median {m * 1000:6.0f} ms")


# --- validation ------------------------------------------------------------------------------


def realistic_posts(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """A seeded mix shaped like the public firehose: most posts are short text with a
    language; some reply, mention, link, tag, embed images, links or quotes."""
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 40))]
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words) + 1), rng.choice(EMOJI))
        text = " ".join(words)
        month = rng.randint(1, 12)
        post: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": (
                f"2024-{month:02}-{rng.randint(1, DAYS[month - 1]):02}T{rng.randint(0, 23):02}:"
                f"{rng.randint(0, 59):02}:{rng.randint(0, 59):02}.{rng.randint(0, 999):03}Z"
            ),
            "langs": [rng.choice(["en", "ja", "pt", "de", "en-US"])],
        }
        uri = f"at://{rng.choice(DIDS)}/app.bsky.feed.post/3k{'abcdefghijk'[i % 11]}qjs5lbz7s2a"
        if rng.random() < 0.3:
            ref = {"uri": uri, "cid": rng.choice(CIDS)}
            post["reply"] = {"root": ref, "parent": ref}
        if rng.random() < 0.25:
            end = len(text.encode())
            post["facets"] = [
                {
                    "index": {"byteStart": 0, "byteEnd": min(5, end)},
                    "features": [
                        rng.choice(
                            [
                                {
                                    "$type": "app.bsky.richtext.facet#mention",
                                    "did": rng.choice(DIDS),
                                },
                                {
                                    "$type": "app.bsky.richtext.facet#link",
                                    "uri": "https://example.com/a",
                                },
                                {"$type": "app.bsky.richtext.facet#tag", "tag": "python"},
                            ]
                        )
                    ],
                }
            ]
        r = rng.random()
        if r < 0.2:
            post["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [
                    {
                        "alt": "",
                        "image": {
                            "$type": "blob",
                            "ref": {"$link": BLOB},
                            "mimeType": "image/jpeg",
                            "size": rng.randint(1000, 900000),
                        },
                        "aspectRatio": {"width": 1200, "height": 800},
                    }
                    for _ in range(rng.randint(1, 4))
                ],
            }
        elif r < 0.3:
            post["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {
                    "uri": "https://example.com/article",
                    "title": "A title",
                    "description": "text",
                },
            }
        elif r < 0.35:
            post["embed"] = {
                "$type": "app.bsky.embed.record",
                "record": {"uri": uri, "cid": rng.choice(CIDS)},
            }
        posts.append(post)
    return posts


def rate(fn: Callable[[dict[str, Any]], object], posts: list[dict[str, Any]]) -> float:
    # CPU time of this process: on a shared machine wall time mostly measures the others.
    start = time.process_time()
    for post in posts:
        fn(post)
    return len(posts) / (time.process_time() - start)


def bench_validation(rounds: int, n: int) -> None:
    print(f"== app.bsky.feed.post validation ({n} realistic records, every check on; CPU time)")
    from lexforge.generated.models.app.bsky.feed import post as lex_post

    posts = realistic_posts(n)
    record = lex_post.Record
    record.model_validate(posts[0])  # first use builds the validators: not timed
    ours: Callable[[dict[str, Any]], object] = record.model_validate
    candidates = {"lexforge": ours}
    try:
        from atproto_client import models  # type: ignore[import-not-found]
        from atproto_client.models.utils import get_or_create  # type: ignore[import-not-found]

        record_cls = models.AppBskyFeedPost.Record
        record_cls.model_validate(posts[0])
        candidates["atproto 0.0.73 get_or_create"] = lambda d: get_or_create(d, record_cls)
        candidates["atproto 0.0.73 model_validate"] = record_cls.model_validate
    except ImportError:
        print("(incumbent atproto==0.0.73 not installed: pip install atproto==0.0.73)")
    for fn in candidates.values():  # warm up
        for post in posts[:50]:
            fn(post)
    results: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):  # alternate, so machine load hits everyone alike
        for name, fn in candidates.items():
            results[name].append(rate(fn, posts))
    base = max(results["lexforge"])
    for name, values in results.items():
        top = max(values)
        ratio = base / top if name != "lexforge" else 1.0
        print(
            f"{name:32}: best {top:9.0f} rec/s  median {statistics.median(values):9.0f}"
            + (f"   lexforge is {ratio:.2f}x" if name != "lexforge" else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument(
        "--only",
        choices=("validation", "imports", "gen"),
        action="append",
        help="run only this part (repeatable; default: all)",
    )
    args = parser.parse_args()
    parts = set(args.only or ("validation", "imports", "gen"))
    rounds = 3 if args.quick else 7
    try:
        import atproto_client  # type: ignore[import-not-found]  # noqa: F401

        incumbent = True
    except ImportError:
        incumbent = False
    if "validation" in parts:
        bench_validation(rounds, 5000)
    if "imports" in parts:
        bench_imports(rounds, incumbent)
    if "gen" in parts:
        bench_gen(max(3, rounds // 2))


if __name__ == "__main__":
    main()
