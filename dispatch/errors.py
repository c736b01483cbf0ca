"""The refusal every ticket operation raises: what is wrong, and the HTTP status that says so."""

from __future__ import annotations


class DeskError(ValueError):
    """A request the desk refuses; `status` is the HTTP status an API should answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status
