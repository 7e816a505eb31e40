"""Errors and warnings that riskmap raises on purpose.

Every error carries a stable ``code`` (such as ``E-CRS-MISSING``) so that users, tests and
documentation can refer to it, and a message that says what went wrong, where (file, layer,
table, column, row) and how to fix it. The command line turns any :class:`RiskmapError` into
that message on stderr and exit code 2; every other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CRSError",
    "ConfigError",
    "GridError",
    "InputError",
    "PrivacyError",
    "Problem",
    "Problems",
    "RiskmapError",
    "RiskmapWarning",
]


class RiskmapError(Exception):
    """Root of every error riskmap raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong, where, and how to fix it.
    code : str, default="E-RISKMAP"
        Stable error code, e.g. ``E-CRS-MISSING``.
    problems : list of Problem, optional
        All problems when several were collected before raising.
    """

    default_code = "E-RISKMAP"

    def __init__(
        self, message: str, *, code: str | None = None, problems: list[Problem] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.problems = list(problems or [])

    def __str__(self) -> str:  # noqa: D105
        return self.args[0] if self.args else self.code

    def __reduce__(self):
        # keep code and problems when the error crosses a process boundary (Dask workers)
        return (_rebuild, (type(self), str(self), self.code, self.problems))


def _rebuild(cls, message, code, problems):
    return cls(message, code=code, problems=problems)


class ConfigError(RiskmapError, ValueError):
    """A project or layer file is not valid (syntax, unknown key, bad value)."""

    default_code = "E-CONFIG"


class InputError(RiskmapError, ValueError):
    """An input file cannot be used: missing, unreadable, empty, bad columns or geometries."""

    default_code = "E-INPUT"


class CRSError(RiskmapError, ValueError):
    """A layer has no CRS, or coordinates that do not fit the CRS it claims."""

    default_code = "E-CRS"


class GridError(RiskmapError, ValueError):
    """A grid cannot be made: cell size not positive, CRS not projected in metres, too large."""

    default_code = "E-GRID"


class PrivacyError(RiskmapError, PermissionError):
    """An output would show an audience more than it may see."""

    default_code = "E-PRIVACY"


class RiskmapWarning(UserWarning):
    """Root of riskmap's warnings."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating: what, where and how to fix it."""

    code: str
    what: str
    where: str = ""
    fix: str = ""

    def __str__(self) -> str:  # noqa: D105
        text = f"[{self.code}] "
        text += f"{self.where}: {self.what}" if self.where else self.what
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class Problems:
    """Collect problems, then raise them all at once (osmnx-style validation).

    Examples
    --------
    >>> problems = Problems()
    >>> problems.add("E-CONFIG-KEY", "unknown key 'wieght'", where="layers.toml [[indicator]] #1",
    ...              fix="did you mean 'weight'?")
    >>> len(problems)
    1
    """

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, code: str, what: str, *, where: str = "", fix: str = "") -> None:
        """Record one problem."""
        self.items.append(Problem(code, what, where, fix))

    def extend(self, other: Problems | list[Problem]) -> None:
        """Record the problems of another collector or of an error."""
        self.items.extend(other.items if isinstance(other, Problems) else other)

    def absorb(self, exc: RiskmapError, *, where: str = "") -> None:
        """Record the problems an error carries, or the error itself when it carries none."""
        if exc.problems:
            self.items.extend(exc.problems)
        else:
            self.add(exc.code, str(exc), where=where)

    def __len__(self) -> int:  # noqa: D105
        return len(self.items)

    def __bool__(self) -> bool:  # noqa: D105
        return bool(self.items)

    def raise_if_any(self, cls: type[RiskmapError] = ConfigError, *, title: str = "") -> None:
        """Raise ``cls`` listing every problem, if there is at least one."""
        if not self.items:
            return
        if len(self.items) == 1 and not title:
            p = self.items[0]
            raise cls(str(p).split("] ", 1)[1], code=p.code, problems=self.items)
        head = title or f"{len(self.items)} problems found"
        body = "\n".join(f"  - {p}" for p in self.items)
        codes = {p.code for p in self.items}
        code = codes.pop() if len(codes) == 1 else cls.default_code
        raise cls(f"{head}:\n{body}", code=code, problems=self.items)
