"""What pyproject.toml cannot say: the pages ship inside the package.

ui/ stays at the top of the repository, where people look for the pages, and is mapped into the package as
dispatch/ui, so an installed package serves the pages as the checkout does (dispatch/entrypoints/api/routes/assets.py
finds them in either place). Its folders are listed too, as setuptools expects of every folder it ships.
"""

from setuptools import find_namespace_packages, setup

PAGES = ["dispatch.ui", *(f"dispatch.ui.{folder}" for folder in find_namespace_packages(where="ui"))]

setup(packages=[*find_namespace_packages(include=["dispatch", "dispatch.*"]), *PAGES],
      package_dir={"dispatch.ui": "ui"})
