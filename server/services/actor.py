"""Who is acting: the signed-in user as the use cases see them."""

from __future__ import annotations

from dataclasses import dataclass

from shared_models.enums import Role


@dataclass(frozen=True)
class Actor:
    id: int | None
    role: Role
    department_id: int | None = None
    display_name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.DISPATCHER, Role.ADMIN)


SYSTEM = Actor(id=None, role=Role.ADMIN, display_name="system")
