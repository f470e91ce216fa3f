"""CSV imports of contacts, events and LINE user ID links."""

from otodoke.contacts.imports.reading import ImportFileError
from otodoke.contacts.imports.runner import ImportReport, run_import

__all__ = ["ImportFileError", "ImportReport", "run_import"]
