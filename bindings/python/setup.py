"""Builds libwsprune (the Rust crate) into the wheel as
``wsprune/libwsprune.so``, next to the ctypes loader, which looks there
right after ``$WSPRUNE_LIBRARY``.

The crate is two levels up in a checkout, and in ``rust/`` in the sdist
(``make dist`` unpacks the published .crate there). setuptools-rust builds
its cdylib with no Python binding (``Binding.NoBinding``) and without the
``cli`` feature (the library does not need clap). The package stays pure
ctypes, so the wheel is tagged ``py3-none-<platform>``: any Python 3 on that
platform can load the library.

``make dist`` builds the release wheel from the one library it builds for
glibc 2.17 instead: ``WSPRUNE_PREBUILT_LIBRARY`` names that file (no Rust is
built) and ``WSPRUNE_WHEEL_PLATFORM`` the platform tag
(``manylinux_2_17_x86_64.manylinux2014_x86_64``, which ``auditwheel show``
confirms in ``make test-dist``).
"""

import os
import shutil
from typing import List, Tuple

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from setuptools_rust import Binding, RustExtension
from setuptools_rust.build import build_rust

try:  # setuptools >= 70.1 ships bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = os.path.dirname(os.path.abspath(__file__))
PREBUILT = os.environ.get("WSPRUNE_PREBUILT_LIBRARY")
PLATFORM = os.environ.get("WSPRUNE_WHEEL_PLATFORM")


class BuildLibrary(build_rust):  # type: ignore[misc]
    """Names the library ``libwsprune.so`` rather than a CPython extension
    name (``libwsprune.cpython-311-x86_64-linux-gnu.so``): it is loaded by
    path with ctypes, never imported."""

    def get_dylib_ext_path(self, ext: RustExtension, target_fname: str) -> str:
        path = super().get_dylib_ext_path(ext, target_fname)
        return os.path.join(os.path.dirname(path), target_fname.rsplit(".", 1)[-1] + ".so")


class BuildPyWithPrebuilt(build_py):  # type: ignore[misc]
    """Copies ``WSPRUNE_PREBUILT_LIBRARY`` into the package as libwsprune.so."""

    def run(self) -> None:
        super().run()
        if PREBUILT:
            target = os.path.join(self.build_lib, "wsprune", "libwsprune.so")
            shutil.copyfile(PREBUILT, target)
            os.chmod(target, 0o755)


class PlatformWheel(bdist_wheel):  # type: ignore[misc]
    """A platform wheel (it carries a native library) for any Python 3."""

    def get_tag(self) -> Tuple[str, str, str]:
        _, _, plat = super().get_tag()
        return "py3", "none", PLATFORM or plat


class BinaryDistribution(Distribution):  # type: ignore[misc]
    """Not pure Python, even when the library is prebuilt rather than an
    extension: the wheel installs into platlib and says Root-Is-Purelib: false."""

    def has_ext_modules(self) -> bool:
        return True


def crate_manifest() -> str:
    """The crate's Cargo.toml, relative to this file: the sdist's copy, else the checkout's."""
    for rel in ("rust/Cargo.toml", "../../Cargo.toml"):
        if os.path.exists(os.path.join(HERE, rel)):
            return rel
    # A pip older than 21.3 copies a local directory elsewhere before building.
    raise SystemExit(
        "wsprune: the Rust crate is neither in rust/ (an sdist) nor two levels up (a checkout);"
        " build from a checkout of the wsprune repository (pip >= 21.3 builds a local directory in place)"
    )


extensions: List[RustExtension] = []
if not PREBUILT:
    extensions.append(
        RustExtension(
            "wsprune.libwsprune",
            path=crate_manifest(),
            binding=Binding.NoBinding,
            args=["--no-default-features"],
            py_limited_api=False,
        )
    )

setup(
    rust_extensions=extensions,
    cmdclass={"build_rust": BuildLibrary, "build_py": BuildPyWithPrebuilt, "bdist_wheel": PlatformWheel},
    distclass=BinaryDistribution,
    zip_safe=False,
)
