"""The zk code's layout (issue 18): ezkl and onnx are an optional extra with a clear error
when missing, and the solc shim ships inside the package (works from an installed wheel,
not only from a source checkout)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from zoo_cli.errors import NotFound


@pytest.mark.parametrize("missing", ["ezkl", "onnx"])
def test_missing_zk_extra_is_a_clear_error(monkeypatch, missing):
    from zoo_cli.engine import zk

    monkeypatch.setitem(sys.modules, missing, None)  # import raises ImportError
    with pytest.raises(NotFound) as err:
        zk._ezkl()
    assert missing in str(err.value) and "zk extra" in str(err.value)
    assert "pip install 'zoo-cli[zk]'" in err.value.hint


def test_solc_shim_is_package_data_and_found_outside_a_checkout(tmp_path, monkeypatch):
    from zoo_cli.chain import solcjs

    pkg = Path(solcjs.__file__).resolve().parent
    assert (solcjs.SHIM_DIR / "solc-0.8.20.sh").is_file() and (solcjs.SHIM_DIR / "solc_stream.cjs").is_file()
    assert solcjs.SHIM_DIR.is_relative_to(pkg)
    # an installed wheel has no checkout node_modules: the package next to the zk root is used
    monkeypatch.delenv("ZOO_SOLC0820", raising=False)
    monkeypatch.setattr(solcjs, "CHECKOUT_MODULES", tmp_path / "nowhere")
    with pytest.raises(NotFound) as err:
        solcjs.solc_package(tmp_path / "zk")
    assert "npm install --prefix" in err.value.hint
    fake = tmp_path / "zk" / "node_modules" / "solc0820"
    fake.mkdir(parents=True)
    (fake / "index.js").write_text("module.exports = {}\n")
    assert solcjs.solc_package(tmp_path / "zk") == fake
    home = solcjs.solc_home(tmp_path / "zk")
    shim = (home / ".svm" / "0.8.20" / "solc-0.8.20").read_text()
    assert str(fake) in shim and str(solcjs.SHIM_DIR / "solc_stream.cjs") in shim
    monkeypatch.setenv("ZOO_SOLC0820", str(tmp_path / "elsewhere"))
    with pytest.raises(NotFound):
        solcjs.solc_package(tmp_path / "zk")


def test_no_zoo_module_reaches_into_the_source_tree():
    """Nothing in the package reads tools/ or a repository path (only solcjs's documented
    last-resort node_modules of a checkout)."""
    pkg = Path(__file__).resolve().parents[2] / "zoo_cli"
    offenders = [str(p.relative_to(pkg)) for p in pkg.rglob("*.py")
                 if ('"tools"' in p.read_text() or "parents[2]" in p.read_text()) and p.name != "solcjs.py"]
    assert offenders == []
