"""Neo and quantities imported on first use, not at ``import bigbrain.pynn``.

PyNN's modules import Neo and quantities at their top but use them only in functions that
make or write records (``get_data``, ``write_data``). Before PyNN is imported, each module
not imported yet is put in ``sys.modules`` as a :class:`Deferred` stand-in: ``import neo``
then binds the stand-in, and its first attribute use imports the real module, which every
later use reaches through it (so ``neo.Block`` is Neo's class). A script that never makes
Neo records is spared their import, about 11 MiB and 0.3 s. (The standard library's
``LazyLoader`` does not do here: Python 3.11's ``import`` statement reads ``__spec__``,
which loads the module at once.)
"""
import importlib
import importlib.util
import sys
import types

#: The modules imported on first use.
DEFERRED = ("neo", "quantities")


class Deferred(types.ModuleType):
    """A module that imports the real one (by its name) on first attribute use."""

    def __getattr__(self, attr):
        real = self.__dict__.get("_real")
        if real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
            self.__dict__["_real"] = real
        return getattr(real, attr)


def defer_imports(names=DEFERRED):
    """Put a :class:`Deferred` stand-in in ``sys.modules`` for each installed module of
    ``names`` not imported yet."""
    for name in names:
        if name not in sys.modules and importlib.util.find_spec(name) is not None:
            sys.modules[name] = Deferred(name)
