"""Report a problem: photo, place, category, description; saved offline, sent when possible."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from ..logic.categories import Choice
from ..logic.location import Location
from ..logic.photo_library import StoredPhoto
from ..logic.report_form import ReportForm
from ..platform_io import has_camera
from .base import CgtScreen
from .pickers import locate, location_text, pick_photo, pin, thumbnails


class ReportScreen(CgtScreen):
    place_text = StringProperty("")
    category_text = StringProperty("")

    def prepare(self, fresh: bool = False, **kwargs: Any) -> None:
        if fresh or not hasattr(self, "form"):
            self.form = ReportForm()
            self.photos: dict[str, StoredPhoto] = {}
            self.ids.description.text = ""
            self.ids.address.text = ""
            self.clear_problems()

    def refresh(self) -> None:
        self.show(self.ids.take_photo, has_camera())  # desktops choose a file instead
        self.place_text = location_text(self.app, self.form.location)
        choice = self.core.catalogue().get(self.form.category_code or "")
        self.category_text = choice.label(self.core.tr) if choice else \
            self.tr("report.choose_category")  # fmt: skip
        thumbnails(self.ids.photos_row, list(self.photos.values()))

    def add_photo(self, camera: bool) -> None:
        pick_photo(self.app, self._photo, camera)

    def _photo(self, photo: StoredPhoto) -> None:
        self.form.add_photo(photo.sha256)
        self.photos[photo.sha256] = photo
        self.ids.photos_error.text = ""
        self.refresh()

    def locate(self) -> None:
        locate(self.app, self._placed, self.form.location)

    def pin(self) -> None:
        pin(self.app, self._placed, self.form.location)

    def _placed(self, where: Location) -> None:
        self.form.location = where
        self.ids.location_error.text = ""
        self.refresh()

    def choose_category(self) -> None:
        self.app.go("categories", on_pick=self._category)

    def _category(self, choice: Choice) -> None:
        self.form.category_code = choice.code
        self.ids.category_code_error.text = ""
        self.refresh()

    def submit(self) -> None:
        self.clear_problems()
        self.form.description = self.ids.description.text
        self.form.address = self.ids.address.text
        form, photos = self.form, dict(self.photos)
        self.app.run_io(lambda: self.core.submit_report(form, photos), self._sent,
                        button=self.ids.submit, screen=self)  # fmt: skip

    def _sent(self, case_id: str) -> None:
        online = self.core.state.online
        self.app.toast(self.tr("report.saved" if online else "report.saved_offline"))
        self.prepare(fresh=True)
        self.app.go("report_detail", case_id=case_id, remember=False)


SCREEN = ReportScreen
