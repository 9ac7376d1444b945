"""Do one verify (核实) or check (核查) task on site: photo evidence, the finding, a note."""

from __future__ import annotations

import webbrowser
from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from ..logic.location import amap_link
from ..logic.patrol import Task
from ..logic.photo_library import StoredPhoto
from ..platform_io import has_camera
from .base import CgtScreen
from .formatting import distance, when
from .pickers import pick_photo, thumbnails


class TaskScreen(CgtScreen):
    heading = StringProperty("")
    facts = StringProperty("")
    light = StringProperty("")
    yes_text = StringProperty("")
    no_text = StringProperty("")
    finding = BooleanProperty(True)

    def prepare(self, task: Task | None = None, **kwargs: Any) -> None:
        if task is None:
            return
        self.task = task
        self.photos: list[StoredPhoto] = []
        self.finding = True
        self.ids.note.text = ""
        self.clear_problems()

    def refresh(self) -> None:
        self.show(self.ids.take_photo, has_camera())  # desktops choose a file instead
        t, tr = self.task, self.core.tr
        verify = t.kind == "verify"
        self.heading = self.tr("patrol.verify_title" if verify else "patrol.check_title")
        self.yes_text = self.tr("patrol.confirmed" if verify else "patrol.passed")
        self.no_text = self.tr("patrol.not_confirmed" if verify else "patrol.failed")
        self.light = t.light or ""
        lines = [tr.pick(t.category_name, t.category_name_en), t.address, t.description,
                 distance(self.app, t.distance_m)]  # fmt: skip
        if t.deadline:
            lines.append(self.tr("patrol.due", when=when(t.deadline)))
        if t.done_offline:
            lines.append(self.tr("patrol.done_offline"))
        self.facts = "\n".join(x for x in lines if x)
        thumbnails(self.ids.photo_row, self.photos)

    def navigate(self) -> None:
        webbrowser.open(amap_link(self.task.lat, self.task.lon, self.task.address))

    def add_photo(self, camera: bool) -> None:
        pick_photo(self.app, self._photo, camera)

    def _photo(self, photo: StoredPhoto) -> None:
        self.photos.append(photo)
        self.ids.photos_error.text = ""
        self.refresh()

    def save(self) -> None:
        self.clear_problems()
        task, photos, yes, note = self.task, list(self.photos), self.finding, self.ids.note.text

        def job() -> None:
            patrol = self.core.patrol()
            shas = [p.sha256 for p in photos]
            if task.kind == "verify":
                patrol.verify(task, yes, shas, note)
            else:
                patrol.check(task, yes, shas, note)
            self.core.queue_photos(photos)
            self.core.record_done()

        self.app.run_io(job, self._saved, button=self.ids.save, screen=self)

    def _saved(self, _: Any) -> None:
        self.app.toast(self.tr("patrol.task_saved"))
        self.app.back()


SCREEN = TaskScreen
