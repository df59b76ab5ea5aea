"""User-facing error types.

Every error a user can cause (bad config, bad corpus source, bad checkpoint, bad pinyin) is
raised as a subclass of :class:`PinhanError` with a message that names the problem; the CLI
prints the message and exits with status 2 instead of showing a traceback.
"""


class PinhanError(Exception):
    """Base class of the errors that the CLI reports as a one-line message."""


class ConfigError(PinhanError, ValueError):
    """A configuration value or file is wrong; the message names the key or file."""


class DataError(PinhanError):
    """A corpus source or prepared data directory cannot be used."""


class InputError(PinhanError, ValueError):
    """An inference request is wrong: too long, wrong type, an unknown option; the message says
    what and the limit or the allowed values."""
