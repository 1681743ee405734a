"""Lazy public names for a package's ``__init__`` (PEP 562): import the defining module on first use."""
from importlib import import_module

__all__ = ["lazy_names"]


def lazy_names(package, public):
    """``(__getattr__, __dir__)`` for ``package`` whose ``public`` maps each name to the module defining it."""
    namespace = import_module(package).__dict__

    def __getattr__(name):
        module_name = public.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module_name), name)
        namespace[name] = value  # cache: the next lookup is a plain attribute access
        return value

    def __dir__():
        return sorted(public)

    return __getattr__, __dir__
