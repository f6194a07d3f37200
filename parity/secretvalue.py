"""A secret's plaintext that cannot leak by accident: every layer passes secrets in this."""

from __future__ import annotations

from typing import Any


class SecretValue:
    """A secret's plaintext. Its repr and str are masked; ``reveal()`` is the only way out."""

    __slots__ = ("_plaintext",)

    def __init__(self, plaintext: str) -> None:
        self._plaintext = plaintext

    def reveal(self) -> str:
        return self._plaintext

    def __repr__(self) -> str:
        return "SecretValue('****')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._plaintext == self._plaintext

    def __hash__(self) -> int:
        return hash(self._plaintext)

    def __reduce__(self) -> Any:
        raise TypeError("a SecretValue is never pickled: it would write the secret to disk")
