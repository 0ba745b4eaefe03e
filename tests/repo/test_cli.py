"""``lexforge repo inspect`` and ``lexforge repo verify``."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from lexforge.runtime.cli import main
from lexforge.runtime.crypto import K256Keypair
from lexforge.runtime.repo import export_car
from tests.repo.helpers import DID, POST, make_repo


def test_inspect_and_verify(tmp_path: Path) -> None:
    repo, key = make_repo(7)
    car = tmp_path / "repo.car"
    car.write_bytes(export_car(repo.store))
    runner = CliRunner()
    result = runner.invoke(main, ["repo", "inspect", str(car)])
    assert result.exit_code == 0, result.output
    assert f"did: {DID}" in result.output
    assert f"rev: {repo.rev}" in result.output
    assert f"{POST}: 7" in result.output
    result = runner.invoke(main, ["repo", "verify", str(car), "--key", key.did_key()])
    assert result.exit_code == 0, result.output
    assert "ok:" in result.output
    other = K256Keypair.generate().did_key()
    result = runner.invoke(main, ["repo", "verify", str(car), "--key", other])
    assert result.exit_code == 1
    assert "signature" in result.output
    result = runner.invoke(main, ["repo", "verify", str(car)])
    assert result.exit_code == 2
    bad = tmp_path / "bad.car"
    bad.write_bytes(car.read_bytes()[:-10])
    result = runner.invoke(main, ["repo", "inspect", str(bad)])
    assert result.exit_code == 1
    assert "invalid repo" in result.output


def test_verify_resolves_the_key_through_a_plc_directory(tmp_path: Path) -> None:
    """``--did`` resolves the current #atproto key from a real PLC directory on loopback."""
    import asyncio

    from lexforge.runtime.identity import FetchPolicy
    from lexforge.runtime.plc import build_update, create_genesis
    from lexforge.runtime.plc.client import PlcClient
    from lexforge.runtime.plc.server import create_app
    from lexforge.runtime.repo import MemoryBlockStore, Repo
    from tests.identity.servers import ServerThread

    rotation, signing, other = (K256Keypair.generate() for _ in range(3))
    did, genesis = create_genesis(
        rotation_keys=[rotation.did_key()],
        signing_key=signing.did_key(),
        handle=None,
        pds_endpoint=None,
        signer=rotation,
    )
    repo, _ = Repo.create(MemoryBlockStore(), did, signing, [(POST, "3k2a", {"$type": POST})])
    car = tmp_path / "repo.car"
    car.write_bytes(export_car(repo.store))
    app = create_app(tmp_path / "plc.sqlite3")
    runner = CliRunner()

    def submit(url: str, op: object) -> None:
        async def go() -> None:
            async with PlcClient(url, policy=FetchPolicy(allow_loopback=True)) as client:
                await client.submit(did, op)  # type: ignore[arg-type]

        asyncio.run(go())

    try:
        with ServerThread(app) as server:
            url = server.base_url
            verify = ["repo", "verify", str(car), "--did", did, "--plc-url", url]
            # not registered yet: a resolution error, exit 1
            result = runner.invoke(main, verify)
            assert result.exit_code == 1, result.output
            assert "cannot resolve" in result.output
            submit(url, genesis)
            result = runner.invoke(main, verify)
            assert result.exit_code == 0, result.output
            assert f"did: {did}" in result.output
            assert "ok:" in result.output
            # the same through the environment variable
            env = {"LEXFORGE_PLC_URL": url}
            result = runner.invoke(main, ["repo", "verify", str(car), "--did", did], env=env)
            assert result.exit_code == 0, result.output
            # a CAR for another DID is refused even though the signature is fine
            other_did = DID
            result = runner.invoke(
                main, ["repo", "verify", str(car), "--did", other_did, "--key", signing.did_key()]
            )
            assert result.exit_code == 1
            # after the DID document rotates to another signing key, the old commit fails
            submit(url, build_update(genesis, signer=rotation, signing_key=other.did_key()))
            result = runner.invoke(main, verify)
            assert result.exit_code == 1
            assert "signature" in result.output
    finally:
        app.state.store.close()
