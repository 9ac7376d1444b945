"""One report: state, deadline, the public timeline; rate or reopen once closed; join a
"same problem" the server found nearby."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from shared_models.enums import FINAL_STATES

from ..logic.errors import Offline
from ..logic.my_reports import ReportRow, Timeline
from .base import CgtScreen
from .formatting import state_name, when


class ReportDetailScreen(CgtScreen):
    title = StringProperty("")
    state_text = StringProperty("")
    light = StringProperty("")
    facts = StringProperty("")
    timeline_text = StringProperty("")
    same_text = StringProperty("")
    can_rate = BooleanProperty(False)
    can_reopen = BooleanProperty(False)
    stars = NumericProperty(0)

    def prepare(self, case_id: str = "", **kwargs: Any) -> None:
        self.case_id = case_id
        self.stars = 0
        self.row: ReportRow | None = None
        self.timeline_text = ""
        for card in (self.ids.same_card, self.ids.rate_card, self.ids.reopen_card):
            self.show(card, False)

    def refresh(self) -> None:
        reports = self.core.my_reports()
        case_id = self.case_id
        self.app.run_io(lambda: (reports.get(case_id), reports.cached_timeline(case_id)),
                        self._show)  # fmt: skip
        if self.core.state.online is not False:
            api = self.core.session.api()
            self.core.net.submit(lambda: api.timeline(case_id), self._fetched, self._no_timeline)

    def _fetched(self, items: list[Any]) -> None:
        reports, case_id = self.core.my_reports(), self.case_id
        self.app.run_io(lambda: reports.keep_timeline(case_id, items), self._timeline)

    def _show(self, found: tuple[ReportRow | None, Timeline]) -> None:
        row, timeline = found
        self.row = row
        if row is None:
            return
        tr, app = self.core.tr, self.app
        self.title = tr.pick(row.category_name, row.category_name_en) or \
            self.core.catalogue().name_of(tr, row.category_code)  # fmt: skip
        self.state_text = state_name(app, row.state)
        self.light = row.light or ""
        facts = []
        if row.address:
            facts.append(row.address)
        if row.description:
            facts.append(row.description)
        if row.deadline and row.state not in FINAL_STATES:
            late = " " + self.tr("reports.overdue") if row.light == "red" else ""
            facts.append(self.tr("reports.deadline", when=when(row.deadline)) + late)
        if row.reject_reason:
            facts.append(self.tr("reports.reject_reason", reason=row.reject_reason))
        if row.state == "merged":
            facts.append(self.tr("reports.merged"))
        if row.rating:
            facts.append(self.tr("reports.rated", n=row.rating))
        if row.pending and not row.waiting:
            facts.append(self.tr("reports.sent_action" if row.sent else "reports.pending_action"))
        self.facts = "\n".join(facts)
        now = self.core.clock()
        self.can_rate = row.can_rate(now)
        self.can_reopen = row.can_reopen(now)
        self.same_text = self.tr("reports.same_problem", n=len(row.same_problem)) \
            if row.can_join() else ""  # fmt: skip
        self.show(self.ids.same_card, bool(self.same_text))
        self.show(self.ids.rate_card, self.can_rate)
        self.show(self.ids.reopen_card, self.can_reopen)
        if not self.timeline_text:
            self._timeline(timeline, cached=True)

    def _timeline(self, timeline: Timeline, cached: bool = False) -> None:
        if not timeline.fetched:
            self.timeline_text = self.tr("reports.timeline_offline")
            return
        lines = []
        for e in timeline.entries:
            who = e.by_zh if self.core.tr.language == "zh" else e.by
            line = f"{when(e.at)}  {self.tr('action.' + e.action)} · {who}"
            if e.note:
                line += f"\n      {e.note}"
            lines.append(line)
        suffix = "\n" + self.tr("reports.timeline_cached") if cached and \
            self.core.state.online is False else ""  # fmt: skip
        self.timeline_text = "\n".join(lines) + suffix

    def _no_timeline(self, error: BaseException) -> None:
        if not isinstance(error, Offline):
            self.app.toast(self.app.error_text(error))

    def rate(self) -> None:
        stars, comment, case_id = int(self.stars), self.ids.comment.text, self.case_id
        self.app.run_io(lambda: self._record(lambda r: r.rate(case_id, stars, comment)),
                        lambda _: self._done("reports.rate_sent"), button=self.ids.rate,
                        screen=self)  # fmt: skip

    def reopen(self) -> None:
        reason, case_id = self.ids.reason.text, self.case_id
        self.app.run_io(lambda: self._record(lambda r: r.reopen(case_id, reason)),
                        lambda _: self._done("reports.reopen_sent"), button=self.ids.reopen,
                        screen=self)  # fmt: skip

    def join(self) -> None:
        if self.row is None or not self.row.same_problem:
            return
        target, case_id = self.row.same_problem[0], self.case_id
        self.app.run_io(lambda: self._record(lambda r: r.join(case_id, target)),
                        lambda _: self._done("reports.joined"), button=self.ids.join)  # fmt: skip

    def keep(self) -> None:
        case_id = self.case_id
        self.app.run_io(lambda: self.core.my_reports().dismiss_same(case_id),
                        lambda _: self.refresh())  # fmt: skip

    def _record(self, action: Any) -> None:
        action(self.core.my_reports())
        self.core.record_done()

    def _done(self, key: str) -> None:
        self.app.toast(self.tr(key))
        self.ids.comment.text = ""
        self.ids.reason.text = ""
        self.refresh()


SCREEN = ReportDetailScreen
