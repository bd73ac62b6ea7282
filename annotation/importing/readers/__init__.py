"""One module per file format. Each registers its Reader (formats.register) when imported,
and every module here is imported, so a new format is a new module and nothing else."""

import importlib
import pkgutil

# pkgutil lists the modules by name, so the formats register (and are listed) in that order.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
