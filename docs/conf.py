"""Sphinx configuration for the bayesma documentation.

Build (from the repository root)::

    pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import bayesma  # noqa: E402

project = "bayesma"
author = "the bayesma developers"
copyright = "2026, the bayesma developers"
release = bayesma.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
]

# numpydoc: one entry per public name, no autosummary stubs for class members
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_default_options = {"members": False}
autodoc_typehints = "none"

# numpydoc validation of every docstring autodoc'd in api.rst (the build runs with -W):
# GL06/GL07 known sections in numpydoc's order, GL08 a docstring exists, PR01/PR02/PR03
# every parameter documented, none unknown, in signature order, PR06/PR10 type spelling
# and "name : type", PR05 no type ends with a period, RT01 a Returns section, SS03 the summary
# ends with a period, SA03 See Also descriptions capitalised, EX01 an Examples section
# (doctests run with pytest --doctest-modules).
# Result and record classes (RMAResult, MetaData, ...) list their fields under
# Attributes and opt out of PR01 with "# numpydoc ignore=PR01" on their class line.
numpydoc_validation_checks = {"GL06", "GL07", "GL08", "PR01", "PR02", "PR03", "PR05", "PR06", "PR10", "RT01",
                              "SS03", "SA03", "EX01"}

templates_path: list[str] = []
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "code"
pygments_style = "sphinx"

html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = f"bayesma {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False
