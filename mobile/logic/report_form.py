"""The report form (上报问题): photos, place, category, description — validated offline with
the very schema the server uses (``shared_models.schemas.CaseReportSchema``), then recorded as
``report_case.v1`` in the outbox. It works with no network at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from shared_models.schemas import ADDRESS_MAX, DESCRIPTION_MAX, MAX_PHOTOS, CaseReportSchema

from .errors import FormInvalid
from .location import Location

# marshmallow field name -> the i18n key that explains it to the user
SCHEMA_FIELD_KEYS = {
    "category_code": "report.need_category",
    "lat": "report.need_location",
    "lon": "report.need_location",
    "coord_system": "report.need_location",
    "address": "report.address_too_long",
    "description": "report.description_too_long",
    "photos": "report.too_many_photos",
    "id": "form.fix_fields",
}


@dataclass
class ReportForm:
    photos: list[str] = field(default_factory=list)  # sha256 of photos in the PhotoLibrary
    location: Location | None = None
    category_code: str | None = None
    description: str = ""
    address: str = ""
    photo_required: bool = False  # inspectors must attach evidence (the server's rule too)

    def add_photo(self, sha256: str) -> None:
        if sha256 in self.photos:
            return
        if len(self.photos) >= MAX_PHOTOS:
            raise FormInvalid({"photos": "report.too_many_photos"})
        self.photos.append(sha256)

    def remove_photo(self, sha256: str) -> None:
        if sha256 in self.photos:
            self.photos.remove(sha256)

    def args(self, case_id: str | None = None) -> dict[str, Any]:
        """The ``report_case.v1`` arguments (the coordinate in the system it was taken in)."""
        out: dict[str, Any] = {
            "id": case_id or str(uuid.uuid4()),
            "category_code": self.category_code or "",
            "address": self.address.strip(),
            "description": self.description.strip(),
            "photos": list(self.photos),
        }
        if self.location is not None:
            out.update(
                lat=round(self.location.lat, 7),
                lon=round(self.location.lon, 7),
                coord_system=self.location.system.value,
            )
        return out

    def problems(self) -> dict[str, str]:
        """Every field that is not right yet, as i18n keys; empty when the form can be sent."""
        found: dict[str, str] = {}
        args = self.args()
        if self.photo_required and not self.photos:
            found["photos"] = "report.need_photo"
        if not self.category_code:
            found["category_code"] = "report.need_category"
        if self.location is None:
            found["location"] = "report.need_location"
        elif not self.location.valid:
            found["location"] = "report.bad_location"
        if len(args["description"]) > DESCRIPTION_MAX:
            found["description"] = "report.description_too_long"
        if len(args["address"]) > ADDRESS_MAX:
            found["address"] = "report.address_too_long"
        for name in CaseReportSchema().validate(args):
            key = "location" if name in ("lat", "lon", "coord_system") else name
            found.setdefault(key, SCHEMA_FIELD_KEYS.get(name, "form.fix_fields"))
        return found

    def validated_args(self, case_id: str | None = None) -> dict[str, Any]:
        problems = self.problems()
        if problems:
            raise FormInvalid(problems)
        return self.args(case_id)
