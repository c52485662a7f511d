"""Builds fhist's two extension modules (fhist._fhist, fhist._estimate) with the project's own CMake and puts them
in the wheel: pip install --no-build-isolation ./python (Debian's pip, setuptools and wheel; nothing downloaded).

FHIST_CMAKE_BUILD_DIR: an existing build tree of this checkout (relative to it, or absolute; make test's `build`: nothing is
recompiled when it is up to date); without it a fresh tree under the setuptools build folder (a few minutes on 2
cores: the search libraries, the estimators and LibTorch's headers). The modules link Debian's LibTorch, the one
python3-torch loads.
"""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        tree = os.environ.get("FHIST_CMAKE_BUILD_DIR")
        if tree:
            tree = os.path.join(ROOT, tree)  # pip builds in python/: a relative path is the checkout's
        else:
            tree = os.path.abspath(os.path.join(self.build_temp, "cmake"))
            os.makedirs(tree, exist_ok=True)
            subprocess.run(["cmake", "-S", ROOT, "-B", tree, "-DCMAKE_BUILD_TYPE=Release",
                            f"-DPython3_EXECUTABLE={sys.executable}", "-DFHIST_BUILD_TESTS=OFF",
                            "-DFHIST_BUILD_BENCH=OFF", "-DFHIST_BUILD_EXAMPLES=OFF", "-DFHIST_ENABLE_MPI=OFF"]
                           + (["-G", "Ninja"] if shutil.which("ninja") else []), check=True)
        subprocess.run(["cmake", "--build", tree, "--target", "fhist_python", "fhist_python_estimate", "-j",
                        str(os.cpu_count() or 2)], check=True)
        built = glob.glob(os.path.join(tree, "python", "fhist", ext.name.split(".")[-1] + ".*.so"))
        if len(built) != 1:
            sys.exit(f"fhist: expected one {ext.name} module in {tree}/python/fhist, found {built}: is "
                     f"{tree} a build tree of {ROOT} with the Python package on (pybind11-dev, python3-dev)?")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)


setup(ext_modules=[Extension("fhist._fhist", sources=[]), Extension("fhist._estimate", sources=[])],
      cmdclass={"build_ext": CMakeBuild})
