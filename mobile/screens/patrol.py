"""The inspector's patrol: quick collection (photo → kind → send) and the task list."""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from ..logic.categories import Choice
from ..logic.location import Location, from_gps
from ..logic.patrol import Task
from ..logic.photo_library import StoredPhoto
from ..platform_io import ANDROID
from .base import CgtScreen
from .formatting import distance, when
from .pickers import locate, location_text, pick_photo, pin, thumbnails


class TaskRowView(ButtonBehavior, BoxLayout):
    task = ObjectProperty(None, allownone=True)
    title = StringProperty("")
    kind_text = StringProperty("")
    detail = StringProperty("")
    light = StringProperty("")
    screen = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        if self.screen is not None and self.task is not None:
            self.screen.open(self.task)


class PatrolScreen(CgtScreen):
    place_text = StringProperty("")
    order = StringProperty("distance")
    tasks_title = StringProperty("")
    kind = StringProperty("")

    def prepare(self, **kwargs: Any) -> None:
        if not hasattr(self, "photo"):
            self.photo: StoredPhoto | None = None
            self.here: Location | None = None
        if self.here is None and ANDROID:  # the place needs no tap of its own on a phone
            self.app.gps.locate(
                lambda lat, lon, acc: self.app.post(lambda: self._placed(from_gps(lat, lon, acc))),
                lambda: None,
            )

    def refresh(self) -> None:
        self.prepare()
        self.place_text = self.tr("patrol.report_place", place=location_text(self.app, self.here))
        self._kinds()
        thumbnails(self.ids.photo_row, [self.photo] if self.photo else [])
        self.synced()

    def synced(self) -> None:
        """The task list comes from the store; the kind chips are rebuilt only when the synced
        catalogue changed them (rebuilding them at every sync redrew the whole screen in the
        frame the sync ended). The place and the photo stay as they are."""
        patrol, here, order = self.core.patrol(), self.here, self.order
        self.app.run_io(lambda: patrol.tasks(here, order), self._show_tasks)

    def _kinds_key(self) -> tuple[object, ...]:
        tr, catalogue = self.core.tr, self.core.catalogue()
        extra = catalogue.get(self.kind)
        return (self.kind, tr.language, extra and extra.code,
                *((c.code, c.label(tr)) for c in catalogue.common()))  # fmt: skip

    def _kinds(self) -> None:
        self._kinds_shown = self._kinds_key()
        box = self.ids.kinds
        box.clear_widgets()
        tr = self.core.tr
        for choice in self.core.catalogue().common():
            chip = Factory.Chip(text=choice.label(tr), group="patrol_kind")
            chip.state = "down" if choice.code == self.kind else "normal"
            chip.bind(on_release=lambda _w, code=choice.code: self._set_kind(code))
            box.add_widget(chip)
        extra = self.core.catalogue().get(self.kind)
        if extra is not None and extra.code not in [c.code for c in self.core.catalogue().common()]:
            chip = Factory.Chip(text=extra.label(tr), group="patrol_kind", state="down")
            box.add_widget(chip)

    def _set_kind(self, code: str) -> None:
        self.kind = "" if self.kind == code else code
        self.ids.category_code_error.text = ""
        self._kinds()

    def more_kinds(self) -> None:
        self.app.go("categories", on_pick=self._picked_kind)

    def _picked_kind(self, choice: Choice) -> None:
        self.kind = choice.code
        self.refresh()

    def take_photo(self, camera: bool = True) -> None:
        pick_photo(self.app, self._photo, camera)

    def _photo(self, photo: StoredPhoto) -> None:
        self.photo = photo
        self.ids.photos_error.text = ""
        self.refresh()

    def locate(self) -> None:
        locate(self.app, self._placed, self.here)

    def pin(self) -> None:
        pin(self.app, self._placed, self.here)

    def _placed(self, where: Location) -> None:
        self.here = where
        self.ids.location_error.text = ""
        self.refresh()

    def collect(self) -> None:
        self.clear_problems()
        photo, kind, here, note = self.photo, self.kind, self.here, self.ids.note.text

        def job() -> str:
            if photo is not None:
                self.core.queue_photos([photo])
            case_id = self.core.patrol().quick_collect(
                photo.sha256 if photo else None, kind or None, here, note
            )
            self.core.record_done()
            return case_id

        self.app.run_io(job, self._collected, button=self.ids.collect, screen=self)

    def _collected(self, _case_id: str) -> None:
        self.app.toast(self.tr("patrol.collected"))
        self.photo, self.kind = None, ""
        self.ids.note.text = ""
        self.refresh()

    def sort(self, order: str) -> None:
        self.order = order
        self.refresh()

    def _show_tasks(self, tasks: list[Task]) -> None:
        if getattr(self, "_kinds_shown", None) != self._kinds_key():
            self._kinds()  # the catalogue a sync brought is in by now (read before the tasks)
        box = self.ids.tasks
        box.clear_widgets()
        tr = self.core.tr
        self.tasks_title = self.tr("patrol.tasks", n=sum(not t.done_offline for t in tasks))
        for t in tasks:
            bits = [distance(self.app, t.distance_m)]
            if t.deadline:
                bits.append(self.tr("patrol.due", when=when(t.deadline)))
            if t.done_offline:
                bits.append(self.tr("patrol.done_offline"))
            row = TaskRowView(
                task=t,
                title=(tr.pick(t.category_name, t.category_name_en) + "  " + t.address).strip(),
                kind_text=self.tr(f"patrol.kind_{t.kind}"),
                detail=" · ".join(bits),
                light="" if t.done_offline else (t.light or ""),
                screen=self,
            )
            box.add_widget(row)
        self.show(self.ids.no_tasks, not tasks)

    def open(self, task: Task) -> None:
        self.app.go("task", task=task)


SCREEN = PatrolScreen
