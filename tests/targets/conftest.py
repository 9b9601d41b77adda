"""Fixtures of the targets' tests: the indicator sources whose domain functions are not on this branch yet answer
nothing (until they are merged, computing every indicator would stop at the first ImportError)."""

from __future__ import annotations

import importlib

import pytest

from ansinh.targets.indicators.sources import Sources

#: Each source method and the domain function it calls.
SOURCE_FUNCTIONS = {
    "hi_groups": ("ansinh.participation.flows", "count_hi_groups"),
    "leavers": ("ansinh.participation.flows", "count_compulsory_leavers"),
    "voluntary_new": ("ansinh.participation.flows", "count_voluntary_new"),
    "voluntary_returning": ("ansinh.participation.flows", "count_voluntary_returning"),
    "collected": ("ansinh.collection.payments", "collected_by_province"),
    "arrears": ("ansinh.collection.arrears", "arrears_by_province"),
    "contracted": ("ansinh.cards.facilities", "contracted_by_level"),
    "lookups": ("ansinh.cards.service", "lookups_by_province"),
    "citizen_ids": ("ansinh.registry.shares", "count_citizen_ids"),
    "population_matched": ("ansinh.registry.shares", "count_population_matched"),
    "e_transactions": ("ansinh.registry.shares", "count_e_transactions"),
    "uncovered": ("ansinh.registry.shares", "count_uncovered"),
}


def _missing(module: str, name: str) -> bool:
    try:
        return not hasattr(importlib.import_module(module), name)
    except ImportError:
        return True


@pytest.fixture(autouse=True)
def sources_not_yet_merged(monkeypatch):
    """A source whose domain function is missing answers no province (its indicators show no value)."""
    for method, (module, name) in SOURCE_FUNCTIONS.items():
        if _missing(module, name):
            monkeypatch.setattr(Sources, method, lambda self, *args, **kwargs: {})
