"""Mini live executor: feeds, executor loop, paper venue and the durable journal (:mod:`.journal`)."""

import pkgutil

from companion import lazy_submodules

__all__ = sorted(m.name for m in pkgutil.iter_modules(__path__))        # the modules, loaded on first use
__getattr__, __dir__ = lazy_submodules(__name__, __all__)
