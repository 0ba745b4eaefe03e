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
