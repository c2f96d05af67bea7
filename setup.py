"""Packaging beyond pyproject.toml: ship the default model and the starter corpus.

They stay at the top of the repository (models/default, training_data), where scripts, tests
and the data card name them; a wheel has no repository, so the build maps them into the
package as autocoder/_shipped/. autocoder/shipped.py finds them in either layout.
"""

from setuptools import find_namespace_packages, setup

SHIPPED = {
    "autocoder._shipped.models.default": "models/default",
    "autocoder._shipped.training_data": "training_data",
}

setup(
    packages=[*find_namespace_packages(include=["autocoder*"]), *SHIPPED],
    package_dir=SHIPPED,  # their files: [tool.setuptools.package-data]
)
