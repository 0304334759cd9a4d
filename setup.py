"""The package list, which pyproject.toml cannot extend: the code packages, and data/ and migrations/ mapped in."""

from setuptools import find_packages, setup

# data/ and migrations/ stay at the top of the checkout and install inside `models` (read with
# importlib.resources), so an installed wheel needs nothing from the checkout: issue 26.
MAPPED = {"models.data": "data", "models.migrations": "migrations"}

setup(
    packages=find_packages(include=["bot*", "scheduler*", "models*", "messages*"]) + list(MAPPED),
    package_dir=MAPPED,
)
