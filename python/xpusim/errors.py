"""Exceptions raised by xpusim, with the located diagnostics the CLI prints."""
from typing import List, NamedTuple


class Diagnostic(NamedTuple):
    """One problem in an input: ``file:line:column: key: message``."""
    file: str
    line: int
    column: int
    key: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.key + ': ' if self.key else ''}{self.message}"


class XpusimError(Exception):
    """Base class; ``diagnostics`` lists every located problem (may be empty)."""

    def __init__(self, message: str, diagnostics: List[Diagnostic] = ()):
        super().__init__(message)
        self.diagnostics = list(diagnostics)

    # The first problem's location, for the common one-error case.
    @property
    def file(self):
        return self.diagnostics[0].file if self.diagnostics else None

    @property
    def line(self):
        return self.diagnostics[0].line if self.diagnostics else None

    @property
    def key(self):
        return self.diagnostics[0].key if self.diagnostics else None


class ConfigError(XpusimError, ValueError):
    """Bad input file, dict or override (the CLI's exit code 1)."""


class InputError(XpusimError, ValueError):
    """A bad value in user data found while reading it (exit code 1)."""


class LoweringError(XpusimError):
    """A layer that cannot run on the chosen machine (exit code 1)."""


class SweepError(XpusimError):
    """A sweep directory in use or changed under --resume, or failed points."""


class IoError(XpusimError, OSError):
    """A file that could not be read or written."""


class InternalError(XpusimError):
    """A broken invariant inside xpusim (the CLI's exit code 2): a bug."""
