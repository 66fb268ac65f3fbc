"""Errors of the rules engine. Each carries a stable ``code`` and the ``field`` it concerns, so the
Django side can translate the message and an outside tool can act on it; ``str()`` is an English
sentence for logs and the command line."""

from __future__ import annotations

from typing import Any


class RulesError(Exception):
    code = "error"

    def __init__(self, message: str, *, field: str = "", code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.params = params



class DefinitionError(RulesError):
    """A ruleset is wrong: unknown dependency, cycle, a formula returning floats. A programming
    error, found when the ruleset is loaded or first run."""

    code = "definition"


class ParameterError(RulesError):
    """A parameter file is wrong; the message names the file and the key."""

    code = "parameter"


class InputError(RulesError):
    """The household or table given is not valid; ``field`` names the offending field."""

    code = "invalid"


class NoParameters(RulesError):  # noqa: N818 (the contract's error is called no_parameters)
    """No parameters are in force for the month asked for: never a silent fallback."""

    code = "no_parameters"
