# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC query ``com.atproto.repo.describeRepo``."""

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from lexforge.generated.models.com.atproto.repo import describe_repo
from lexforge.runtime.xrpc import XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.describeRepo"

CACHE_SECONDS = 30


def traced(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Log every call (a hand-written decorator)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return await fn(*args, **kwargs)

    return wrapper


@traced
async def handle(ctx: XrpcContext, params: describe_repo.Params) -> describe_repo.Output:
    """Get information about an account and repository, including the list of collections. Does
    not require auth.
    """
    collections = await _collections(ctx, params.repo)
    return describe_repo.Output(collections=collections, handle_is_correct=True)


async def _collections(ctx: XrpcContext, repo: str) -> list[str]:
    """A helper the author added below the handler."""
    return sorted(await ctx.state.repo.collections(repo))
