"""Readers (strict validation) and exporters. Each returns events of :data:`companion.events.EVENT_DTYPE`."""

import pkgutil

from companion import lazy_submodules

__all__ = sorted(m.name for m in pkgutil.iter_modules(__path__))        # the modules, loaded on first use
__getattr__, __dir__ = lazy_submodules(__name__, __all__)
