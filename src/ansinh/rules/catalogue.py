"""Imports every calculation module of ``ansinh.rules`` so that each registers itself (see
:mod:`ansinh.rules.calculator`). A new calculation only needs its own module."""

import importlib
import pkgutil

import ansinh.rules as _package

_NOT_CALCULATIONS = {"api", "calculator", "catalogue", "cli", "money", "pages", "parameters", "report", "schemas"}

for _module in pkgutil.iter_modules(_package.__path__):
    if not _module.ispkg and _module.name not in _NOT_CALCULATIONS and not _module.name.startswith("_"):
        importlib.import_module(f"ansinh.rules.{_module.name}")
