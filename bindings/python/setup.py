"""Builds libwsprune (the Rust crate two levels up) into the wheel as
``wsprune/libwsprune.so``, next to the ctypes loader, which looks there
right after ``$WSPRUNE_LIBRARY``.

setuptools-rust builds the crate's cdylib with no Python binding
(``Binding.NoBinding``) and without the ``cli`` feature (the library does not
need clap). The package stays pure ctypes, so the wheel is tagged
``py3-none-<platform>``: any Python 3 on that platform can load the library.
"""

import os
from typing import Tuple

from setuptools import setup
from setuptools_rust import Binding, RustExtension
from setuptools_rust.build import build_rust

try:  # setuptools >= 70.1 ships bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]


class BuildLibrary(build_rust):  # type: ignore[misc]
    """Names the library ``libwsprune.so`` rather than a CPython extension
    name (``libwsprune.cpython-311-x86_64-linux-gnu.so``): it is loaded by
    path with ctypes, never imported."""

    def get_dylib_ext_path(self, ext: RustExtension, target_fname: str) -> str:
        path = super().get_dylib_ext_path(ext, target_fname)
        return os.path.join(os.path.dirname(path), target_fname.rsplit(".", 1)[-1] + ".so")


class PlatformWheel(bdist_wheel):  # type: ignore[misc]
    """A platform wheel (it carries a native library) for any Python 3."""

    def get_tag(self) -> Tuple[str, str, str]:
        _, _, plat = super().get_tag()
        return "py3", "none", plat


CRATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Cargo.toml")
if not os.path.exists(CRATE):
    # An sdist, or a pip older than 21.3 that copies the package directory
    # elsewhere before building: the crate is not there to build.
    raise SystemExit(
        f"wsprune: the Rust crate is not at {os.path.normpath(CRATE)}; build from a checkout"
        " of the wsprune repository (pip >= 21.3 builds a local directory in place)"
    )

setup(
    rust_extensions=[
        RustExtension(
            "wsprune.libwsprune",
            path="../../Cargo.toml",
            binding=Binding.NoBinding,
            args=["--no-default-features"],
            py_limited_api=False,
        )
    ],
    cmdclass={"build_rust": BuildLibrary, "bdist_wheel": PlatformWheel},
    zip_safe=False,
)
