"""Only one thing pyproject.toml cannot say: the wheel carries the shipped model.

``build_py`` copies whatever ``checkpoints/*.pt``, ``checkpoints/*_layout.npz`` and
``docs/osc.md`` hold at build time into ``immersions_osc/shipped_files/`` of the build, where
``immersions_osc/shipped.py`` finds them through importlib.resources.  (The files stay where they
are in the repository; a source checkout reads them from there.)
"""
import glob
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = ["checkpoints/*.pt", "checkpoints/*_layout.npz", "docs/osc.md"]


class BuildWithShippedFiles(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the repository's files in place
            return
        target = os.path.join(self.build_lib, "immersions_osc", "shipped_files")
        shutil.rmtree(target, ignore_errors=True)  # only what checkpoints/ holds now
        os.makedirs(target)
        copied = 0
        for pattern in SHIPPED:
            for path in sorted(glob.glob(os.path.join(HERE, pattern))):
                shutil.copy2(path, os.path.join(target, os.path.basename(path)))
                copied += 1
        if not copied:
            raise SystemExit("no checkpoint to ship: checkpoints/*.pt is empty")


setup(cmdclass={"build_py": BuildWithShippedFiles})
