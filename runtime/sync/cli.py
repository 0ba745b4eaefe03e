"""``lexforge firehose URL``: print one line per ``subscribeRepos`` event.

Each line is ``seq type did`` plus what matters for the type (``rev`` and an ops summary
for commits, ``handle`` for identity, ``active``/``status`` for account). ``#info`` and
connection problems go to stderr. ``--verify`` checks every ``#commit``/``#sync`` with
the repo engineer's verifier (:mod:`lexforge.runtime.sync.verify`), resolving signing
keys through the DID resolver of :mod:`lexforge.runtime.identity`; rejected events are
printed with ``REJECTED`` and the reason. The consumer reconnects with backoff until
interrupted, or until ``--limit`` events were printed; a handshake the server refuses
for good (501 streams not supported, 4xx other than 429) ends the command with an error.

SIGINT (Ctrl-C) or SIGTERM shuts down gracefully: no new frame is read, the events
already received get ``--drain`` seconds (default 5) to be printed, then the command
says on stderr which ``--cursor`` resumes after the last event it finished, and exits
with 128 + the signal number (130, 143). A second signal stops at once.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import click

from lexforge.runtime.identity.did_resolver import DidResolver
from lexforge.runtime.identity.directory import BaseDirectory
from lexforge.runtime.identity.errors import IdentityError
from lexforge.runtime.sync.consumer import FirehoseConsumer, subscribe_url
from lexforge.runtime.sync.errors import (
    FutureCursorError,
    HandlerError,
    HandshakeRefusedError,
    VerificationError,
    VerifierUnavailableError,
)
from lexforge.runtime.sync.events import (
    AccountEvent,
    CommitEvent,
    IdentityEvent,
    InfoEvent,
    RepoEvent,
    SyncEvent,
)

__all__ = ["DEFAULT_DRAIN", "firehose", "format_event", "network_key_lookup"]

_MAX_OPS_SHOWN = 3
#: Seconds the events already received get to finish after SIGINT/SIGTERM.
DEFAULT_DRAIN = 5.0
_SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def format_event(event: RepoEvent | InfoEvent) -> str:
    """The one-line summary ``lexforge firehose`` prints for ``event``."""
    if isinstance(event, InfoEvent):
        return f"- {event.TYPE} {event.name}" + (f": {event.message}" if event.message else "")
    head = f"{event.seq} {event.TYPE} {event.did}"
    if isinstance(event, CommitEvent):
        ops = ", ".join(f"{op.action} {op.path}" for op in event.ops[:_MAX_OPS_SHOWN])
        more = len(event.ops) - _MAX_OPS_SHOWN
        if more > 0:
            ops += f", +{more} more"
        return f"{head} rev={event.rev} ops={len(event.ops)}" + (f" [{ops}]" if ops else "")
    if isinstance(event, SyncEvent):
        return f"{head} rev={event.rev}"
    if isinstance(event, IdentityEvent):
        return f"{head} handle={event.handle or '-'}"
    if isinstance(event, AccountEvent):
        return f"{head} active={str(event.active).lower()} status={event.status or '-'}"
    raise TypeError(type(event).__name__)


KeyLookup = Callable[[str, bool], Awaitable[Any]]


def network_key_lookup(resolver: DidResolver) -> KeyLookup:
    """A verifier key lookup resolving DIDs (did:plc, did:web, did:key) with ``resolver``.

    Only the DID document is needed (no handle check). Keys are cached per DID;
    ``refresh=True`` (the verifier's retry after a failed signature, e.g. a rotated key)
    resolves again.
    """
    cache: dict[str, Any] = {}

    async def lookup(did: str, refresh: bool) -> Any:
        if refresh or did not in cache:
            try:
                cache[did] = (await resolver.resolve(did)).signing_key()
            except IdentityError as exc:
                click.echo(f"identity: {did}: {exc}", err=True)
                cache[did] = None
        return cache[did]

    return lookup


def _load_verifier_class() -> Any:
    """The repo engineer's ``CommitVerifier``, imported only when ``--verify`` is used."""
    try:
        module = importlib.import_module("lexforge.runtime.sync.verify")
    except ImportError as exc:
        raise VerifierUnavailableError(
            "--verify needs lexforge.runtime.sync.verify, which is not available "
            f"in this installation ({exc})"
        ) from None
    cls = getattr(module, "CommitVerifier", None)
    if cls is None:
        raise VerifierUnavailableError(
            "--verify needs lexforge.runtime.sync.verify.CommitVerifier, which is not there"
        )
    return cls


def _install_shutdown(consumer: FirehoseConsumer, drain: float, received: list[int]) -> bool:
    """First SIGINT/SIGTERM drains ``consumer``, a second stops it; False if unsupported.

    Signal numbers are appended to ``received``. Only the main thread of a loop with
    signal support (not Windows' proactor) can install them; without, Ctrl-C keeps
    asyncio's default (cancel at once).
    """
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        received.append(signum)
        if len(received) == 1:
            click.echo(
                f"firehose: {signal.Signals(signum).name}: finishing the events received "
                f"(up to {drain:g} s); again to stop now",
                err=True,
            )
            consumer.stop(drain=drain)
        else:
            consumer.stop()

    installed: list[signal.Signals] = []
    try:
        for signum in _SHUTDOWN_SIGNALS:
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
    except (NotImplementedError, RuntimeError, ValueError):  # no signals in this context
        for signum in installed:
            loop.remove_signal_handler(signum)
        return False
    return True


def _remove_shutdown() -> None:
    loop = asyncio.get_running_loop()
    for signum in _SHUTDOWN_SIGNALS:
        loop.remove_signal_handler(signum)


async def _run(
    url: str,
    cursor: int | None,
    verify: bool,
    limit: int | None,
    plc_url: str,
    *,
    drain: float = DEFAULT_DRAIN,
) -> int | None:
    """Print events until ``--limit``, a refusal or a signal; the signal's number, if any."""
    printed = 0
    done = asyncio.Event()
    received: list[int] = []

    async def handler(event: RepoEvent) -> None:
        nonlocal printed
        click.echo(format_event(event))
        printed += 1
        if limit is not None and printed >= limit:
            done.set()

    async def on_invalid(event: RepoEvent, error: VerificationError) -> None:
        nonlocal printed
        click.echo(f"{format_event(event)} REJECTED {type(error).__name__}: {error}")
        printed += 1
        if limit is not None and printed >= limit:
            done.set()

    def on_error(error: BaseException) -> None:
        click.echo(f"firehose: {type(error).__name__}: {error}", err=True)

    def on_info(event: InfoEvent) -> None:
        click.echo(format_event(event), err=True)

    directory: BaseDirectory | None = None
    verifier: Any = None
    if verify:
        verifier_cls = _load_verifier_class()
        # BaseDirectory.create trusts a PLC URL on loopback (a local `lexforge plc serve`)
        # while did:web fetches keep refusing private addresses.
        directory = BaseDirectory.create(plc_url=plc_url)
        verifier = verifier_cls(network_key_lookup(directory.did_resolver))
    consumer = FirehoseConsumer(
        url,
        handler,
        cursor=cursor,
        verifier=verifier,
        on_invalid=on_invalid,
        on_error=on_error,
        on_info=on_info,
    )
    installed = _install_shutdown(consumer, drain, received)
    try:
        async with consumer:
            stopped = asyncio.create_task(done.wait())
            finished = asyncio.create_task(consumer.wait())
            await asyncio.wait({stopped, finished}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if finished.done():
                finished.result()
            else:
                finished.cancel()
    finally:
        if installed:
            _remove_shutdown()
        if directory is not None:
            await directory.aclose()
    if not received:
        return None
    resume = consumer.cursor
    if resume is not None:
        click.echo(f"firehose: stopped; resume with --cursor {resume}", err=True)
    return received[0]


@click.command("firehose")
@click.argument("url")
@click.option("--cursor", type=click.IntRange(min=0), help="Resume after this seq.")
@click.option(
    "--verify",
    is_flag=True,
    help="Verify #commit/#sync events (signature, slice hashes, op inversion).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Stop after this many events.")
@click.option(
    "--plc-url",
    default="https://plc.directory",
    show_default=True,
    help="PLC directory used to resolve signing keys with --verify.",
)
@click.option(
    "--drain",
    type=click.FloatRange(min=0),
    default=DEFAULT_DRAIN,
    show_default=True,
    metavar="SECONDS",
    help="On SIGINT/SIGTERM, let the events already received finish for up to this "
    "long (a second signal stops at once).",
)
def firehose(
    url: str, cursor: int | None, verify: bool, limit: int | None, plc_url: str, *, drain: float
) -> None:
    """Subscribe to URL (a host or a subscribeRepos URL) and print one line per event."""
    try:
        subscribe_url(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="URL") from None
    try:
        signum = asyncio.run(_run(url, cursor, verify, limit, plc_url, drain=drain))
    except VerifierUnavailableError as exc:
        raise click.ClickException(str(exc)) from None
    except FutureCursorError as exc:
        raise click.ClickException(f"the server refused the cursor: {exc}") from None
    except HandshakeRefusedError as exc:  # 501, or 4xx other than 429: asking again won't help
        raise click.ClickException(f"the server refused the subscription: {exc}") from None
    except HandlerError as exc:  # pragma: no cover - printing does not fail
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:  # signal handlers could not be installed
        sys.exit(130)
    if signum is not None:
        sys.exit(128 + signum)
