import pytest

import turngym.tools.sandbox as sandbox_pkg
from turngym.tools.sandbox import BwrapSandbox, LocalSandbox, find_bwrap, make_sandbox


def test_auto_is_bwrap_when_installed():
    if find_bwrap() is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    box = make_sandbox()
    try:
        assert isinstance(box, BwrapSandbox)
    finally:
        box.close()


def test_auto_falls_back_to_local_with_a_warning(monkeypatch):
    monkeypatch.setattr(sandbox_pkg, "find_bwrap", lambda: None)
    with pytest.warns(UserWarning, match="NOT a security boundary"):
        box = make_sandbox("auto")
    try:
        assert isinstance(box, LocalSandbox)
        assert box.run("print(6 * 7)").stdout.strip() == "42"
    finally:
        box.close()
