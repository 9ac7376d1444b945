"""The registry of named, versioned mutations (``report_case.v1``, ``check_case.v1`` …).

A mutation is registered once and serves both configurations of the engine: on the server
its ``handler(ctx, args)`` applies it (returns a result dict, or raises a ``CgtError`` whose
code becomes the refusal reason); on the device its optional ``local(view, args)`` applies it
optimistically so the user sees it before the server has answered. Later features register
their own mutations; a changed meaning of the arguments gets a new version (``.v2``) while the
server keeps the old one as long as devices may still send it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shared_models.errors import CgtError

from .protocol import Json

if TYPE_CHECKING:
    from .server import MutationContext

_NAME = re.compile(r"^[a-z][a-z0-9_]*\.v[1-9][0-9]*$")


@dataclass(frozen=True)
class LocalWrite:
    """An optimistic change on the device: ``data`` None means removed."""

    collection: str
    id: str
    data: Json | None


class LocalView(Protocol):
    """What a local apply may read: the device's current view of a record."""

    def get(self, collection: str, id: str) -> Json | None: ...


Handler = Callable[["MutationContext", Json], Json | None]
# A batch handler applies a run of mutations of one name together (Core bulk statements
# instead of a statement per row): it returns an outcome — a result, or the CgtError that
# refuses it, having written nothing for it — for a prefix of the run, in order. The engine
# runs the rest one by one through the plain handler (see ``sync.server._apply``).
BatchHandler = Callable[[Sequence["MutationContext"], Sequence[Json]], Sequence["Json | CgtError"]]
LocalApply = Callable[[LocalView, Json], Sequence[LocalWrite]]
PhotosOf = Callable[[Json], Iterable[str]]


def _no_photos(args: Json) -> Iterable[str]:
    return ()


@dataclass(frozen=True)
class MutationSpec:
    name: str
    handler: Handler | None = None
    local: LocalApply | None = None
    photos: PhotosOf = _no_photos  # sha256s of the photos this mutation refers to
    batch: BatchHandler | None = None  # optional bulk path beside ``handler``


class Registry:
    """Named mutation specs; one instance is shared by the server and the device."""

    def __init__(self) -> None:
        self._specs: dict[str, MutationSpec] = {}

    def register(
        self,
        name: str,
        handler: Handler | None = None,
        *,
        local: LocalApply | None = None,
        photos: PhotosOf | None = None,
        batch: BatchHandler | None = None,
    ) -> MutationSpec:
        if not _NAME.match(name):
            raise ValueError(f"mutation names look like 'report_case.v1', not {name!r}")
        if name in self._specs:
            raise ValueError(f"mutation {name!r} is already registered")
        if batch is not None and handler is None:
            raise ValueError(f"mutation {name!r}: a batch handler needs the plain one too")
        spec = MutationSpec(name, handler, local, photos or _no_photos, batch)
        self._specs[name] = spec
        return spec

    def mutation(
        self, name: str, *, local: LocalApply | None = None, photos: PhotosOf | None = None
    ) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`register` for a server handler."""

        def wrap(handler: Handler) -> Handler:
            self.register(name, handler, local=local, photos=photos)
            return handler

        return wrap

    def get(self, name: str) -> MutationSpec:
        spec = self._specs.get(name)
        if spec is None:
            raise CgtError("unknown_mutation", name=name)
        return spec

    def serves(self, name: str) -> bool:
        """Is ``name`` registered with a server handler (else it is ``unknown_mutation``)?"""
        spec = self._specs.get(name)
        return spec is not None and spec.handler is not None

    def names(self) -> list[str]:
        return sorted(self._specs)
