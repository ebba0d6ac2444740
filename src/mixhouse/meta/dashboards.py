"""Dashboards in the metadata store: settings, layout, the reports and cards on them, favorites and pins.

Every read and write is scoped to one project. Reports placed on a dashboard belong to it (``dashboard_id``);
adding an existing report elsewhere clones it, as Mixpanel does. Deleting a dashboard keeps its reports (their
``dashboard_id`` is cleared) and deletes its text and link cards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mixhouse.errors import NotFoundError, PermissionDeniedError, ValidationError
from mixhouse.meta import layout as layouts
from mixhouse.meta import models
from mixhouse.meta.records import Actor, Report, Viewer
from mixhouse.meta.reports import add_report
from mixhouse.meta.store import MetaStore, report_record

#: Settings a dashboard update may change (JSON-valued ones are stored as JSON text).
SETTINGS = ("title", "description", "is_private", "is_restricted", "filters", "breakdowns", "time_filter")
JSON_SETTINGS = ("filters", "breakdowns", "time_filter")


@dataclass(frozen=True, slots=True)
class NewReport:
    """A report created on the dashboard from bookmark fields (already checked)."""

    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CopyReport:
    """An existing report of the project, placed on the dashboard (cloned unless it already belongs there)."""

    source_id: int


@dataclass(frozen=True, slots=True)
class NewText:
    markdown: str


@dataclass(frozen=True, slots=True)
class NewLink:
    """A card linking to a report of the project."""

    report_id: int
    link_type: str


NewContent = NewReport | CopyReport | NewText | NewLink


@dataclass(frozen=True, slots=True)
class AddRow:
    contents: list[NewContent]


@dataclass(frozen=True, slots=True)
class Removal:
    kind: str
    content_id: int


@dataclass(frozen=True, slots=True)
class CardUpdate:
    kind: str
    card_id: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FinishCard:
    """A card a finished blueprint shows: a report (``content_id``) or a text card (an existing ``content_id``,
    new ``markdown``, or both)."""

    kind: str
    content_id: int | None
    markdown: str | None = None


#: One content change of a dashboard ``PATCH``.
Change = AddRow | Removal | CardUpdate


@dataclass(frozen=True, slots=True)
class Card:
    id: int
    kind: str
    markdown: str | None
    report_id: int | None
    link_type: str | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    id: int
    project_id: int
    workspace_id: int | None
    settings: dict[str, Any]
    layout: dict[str, Any]
    generation_type: str
    template_type: str | None
    blueprint_variables: dict[str, Any] | None
    pinned_at: datetime | None
    creator: Actor
    last_modified_by: Actor
    created_at: datetime
    modified_at: datetime
    is_favorited: bool
    reports: list[Report] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)


class Dashboards:
    """One project's dashboards, as seen by one account (its favorites); with ``workspace_id`` (a data view), those
    made in it (and the reports they make belong to it too)."""

    def __init__(self, store: MetaStore, project_id: int, account_id: int | None = None,
                 workspace_id: int | None = None, viewer: Viewer | None = None) -> None:
        self._store = store
        self._project_id = project_id
        self._account_id = account_id
        self._workspace_id = workspace_id
        self._viewer = viewer  # None: no restriction flags apply (the server's own work)

    # -- reads -------------------------------------------------------------------------------------------

    def all(self, ids: Iterable[int] | None = None) -> list[Dashboard]:
        query = select(models.Dashboard).where(models.Dashboard.project_id == self._project_id)
        if ids is not None:
            query = query.where(models.Dashboard.id.in_(list(ids)))
        if self._workspace_id is not None:
            query = query.where(models.Dashboard.workspace_id == self._workspace_id)
        with self._store.reading() as session:
            rows = [row for row in session.scalars(query.order_by(models.Dashboard.id)) if self._visible(row)]
            favorites = self._favorites(session)
            return [self._record(session, row, row.id in favorites, with_contents=False) for row in rows]

    def get(self, dashboard_id: int) -> Dashboard:
        with self._store.reading() as session:
            return self._full(session, self._existing(session, dashboard_id))

    def dashboards_showing(self, report_id: int) -> list[int]:
        """Ids of the dashboards whose layout shows the report."""
        return self._ids_where(report_id, lambda row, _: ("report", report_id) in layouts.contents(_layout(row)))

    def dashboards_linking(self, report_id: int) -> list[int]:
        """Ids of the dashboards the report belongs to, shows or links to."""

        def linked(row: models.Dashboard, links: set[int]) -> bool:
            return row.id in links or ("report", report_id) in layouts.contents(_layout(row))

        return self._ids_where(report_id, linked)

    # -- writes ------------------------------------------------------------------------------------------

    def create(self, settings: dict[str, Any], rows: list[list[NewContent]], actor: Actor, *,
               generation_type: str = "User Created", template_type: str | None = None,
               blueprint_variables: dict[str, Any] | None = None) -> Dashboard:
        with self._store.writing() as session:
            row = models.Dashboard(project_id=self._project_id, workspace_id=self._workspace_id,
                                   creator_id=actor.id, creator_name=actor.name,
                                   last_modified_by_id=actor.id, last_modified_by_name=actor.name,
                                   generation_type=generation_type, template_type=template_type,
                                   blueprint_variables=None if blueprint_variables is None
                                   else json.dumps(blueprint_variables), **_setting_columns(settings))
            session.add(row)
            session.flush()
            for contents in rows:
                self._add_row(session, row, contents, actor)
            return self._full(session, row)

    def duplicate(self, source_id: int, settings: dict[str, Any], actor: Actor) -> Dashboard:
        """A copy of a dashboard (its settings overridden by ``settings``), with copies of its reports and cards."""
        with self._store.writing() as session:
            source = self._existing(session, source_id)
            copied = {key: getattr(source, key) for key in SETTINGS}
            row = models.Dashboard(project_id=self._project_id, workspace_id=self._workspace_id,
                                   creator_id=actor.id, creator_name=actor.name,
                                   last_modified_by_id=actor.id, last_modified_by_name=actor.name,
                                   **{**copied, **_setting_columns(settings)})
            session.add(row)
            session.flush()
            for row_id in _layout(source)["order"]:
                cells = _layout(source)["rows"][row_id]["cells"]
                self._add_row(session, row, [self._copy_of(session, c["content_type"], c["content_id"])
                                             for c in cells], actor)
            return self._full(session, row)

    def patch(self, dashboard_id: int, settings: dict[str, Any], layout: Any, change: Change | None,
              actor: Actor) -> Dashboard:
        """A ``PATCH``: new settings, a rearranged ``layout`` (when not ``None``) and one content ``change``, all in
        one transaction (a refusal of any part changes nothing)."""
        with self._store.writing() as session:
            row = self._writable(session, dashboard_id)
            for key, value in _setting_columns(settings).items():
                setattr(row, key, value)
            if layout is not None:
                row.layout = json.dumps(layouts.checked(layout, set(layouts.contents(_layout(row)))))
            if isinstance(change, AddRow):
                self._add_row(session, row, change.contents, actor)
            elif isinstance(change, Removal):
                self._remove(session, row, change.kind, change.content_id)
            elif isinstance(change, CardUpdate):
                self._update_card(session, row, change.card_id, change.kind, change.values)
            _touch(row, actor)
            return self._full(session, row)

    def update_card(self, dashboard_id: int, card_id: int, kind: str, values: dict[str, Any],
                    actor: Actor) -> None:
        """Change a text card's markdown or a report link's type."""
        with self._store.writing() as session:
            row = self._writable(session, dashboard_id)
            self._update_card(session, row, card_id, kind, values)
            _touch(row, actor)

    def finish(self, dashboard_id: int, cards: list[FinishCard], state: dict[str, Any], actor: Actor) -> Dashboard:
        """Show exactly ``cards``, two per row (reports from elsewhere copied in, new text cards made, what is left
        out taken off) and store the blueprint ``state``, in one transaction."""
        with self._store.writing() as session:
            row = self._writable(session, dashboard_id)
            shown = set(layouts.contents(_layout(row)))
            wanted: list[layouts.Content] = []
            for card in cards:
                if card.kind == "report":
                    content = ("report", card.content_id or 0)
                    wanted.append(content if content in shown else self._place(
                        session, row, CopyReport(card.content_id or 0), actor))
                elif card.content_id is not None and ("text", card.content_id) in shown:
                    if card.markdown is not None:
                        self._update_card(session, row, card.content_id, "text", {"markdown": card.markdown})
                    wanted.append(("text", card.content_id))
                else:
                    wanted.append(self._place(session, row, NewText(card.markdown or ""), actor))
            if len(set(wanted)) != len(wanted):
                raise ValidationError("a card may be shown once")
            for kind, content_id in shown - set(wanted):
                self._remove(session, row, kind, content_id)
            layout = layouts.empty()
            for start in range(0, len(wanted), 2):
                layout = layouts.with_row(layout, wanted[start:start + 2])
            row.layout = json.dumps(layout)
            row.blueprint_variables = json.dumps(state)
            _touch(row, actor)
            return self._full(session, row)

    def delete_many(self, dashboard_ids: list[int]) -> None:
        """Delete every dashboard listed, or none when one is not the project's (404)."""
        with self._store.writing() as session:
            for row in [self._writable(session, dashboard_id) for dashboard_id in dashboard_ids]:
                session.delete(row)

    def set_favorite(self, dashboard_id: int, on: bool) -> None:
        if self._account_id is None:
            raise ValidationError("favorites belong to an account")
        with self._store.writing() as session:
            self._existing(session, dashboard_id)
            key = {"dashboard_id": dashboard_id, "service_account_id": self._account_id}
            existing = session.get(models.DashboardFavorite, key)
            if on and existing is None:
                session.add(models.DashboardFavorite(**key))
            elif not on and existing is not None:
                session.delete(existing)

    def set_pinned(self, dashboard_id: int, on: bool) -> None:
        with self._store.writing() as session:
            row = self._writable(session, dashboard_id)
            row.pinned_at = datetime.now(UTC) if on else None

    def set_blueprint_variables(self, dashboard_id: int, variables: dict[str, Any]) -> None:
        with self._store.writing() as session:
            self._writable(session, dashboard_id).blueprint_variables = json.dumps(variables)

    # -- inside a transaction ----------------------------------------------------------------------------

    def _remove(self, session: Session, row: models.Dashboard, content_type: str, content_id: int) -> None:
        if (content_type, content_id) not in layouts.contents(_layout(row)):
            raise NotFoundError(f"dashboard {row.id} has no {content_type} {content_id}")
        row.layout = json.dumps(layouts.without(_layout(row), (content_type, content_id)))
        if content_type == "report":
            report = session.get(models.Report, content_id)
            if report is not None and report.dashboard_id == row.id:
                report.dashboard_id = None
        else:
            session.execute(delete(models.DashboardCard).where(models.DashboardCard.id == content_id,
                                                               models.DashboardCard.dashboard_id == row.id))

    def _update_card(self, session: Session, row: models.Dashboard, card_id: int, kind: str,
                     values: dict[str, Any]) -> None:
        card = session.get(models.DashboardCard, card_id)
        if card is None or card.dashboard_id != row.id or card.kind != kind:
            raise NotFoundError(f"dashboard {row.id} has no {kind} card {card_id}")
        for key, value in values.items():
            setattr(card, key, value)

    def _existing(self, session: Session, dashboard_id: int) -> models.Dashboard:
        """The dashboard if it is the project's and the viewer may see it (another account's private dashboard
        reads as missing)."""
        row = session.get(models.Dashboard, dashboard_id)
        if row is None or row.project_id != self._project_id or not self._visible(row):
            raise NotFoundError(f"no dashboard {dashboard_id} in project {self._project_id}")
        return row

    def _visible(self, row: models.Dashboard) -> bool:
        viewer = self._viewer
        return viewer is None or not row.is_private or row.creator_id == viewer.account_id

    def _writable(self, session: Session, dashboard_id: int) -> models.Dashboard:
        """The dashboard if the viewer may also change it: a restricted one only its creator, owners and admins."""
        row = self._existing(session, dashboard_id)
        viewer = self._viewer
        if viewer is not None and not viewer.may_act_on(row.creator_id, row.is_restricted):
            raise PermissionDeniedError(f"dashboard {dashboard_id} is restricted: only its creator, owners and "
                                        "admins change it")
        return row

    def _report(self, session: Session, report_id: int) -> models.Report:
        report = session.get(models.Report, report_id)
        if report is None or report.project_id != self._project_id:
            raise NotFoundError(f"no report {report_id} in project {self._project_id}")
        return report

    def _favorites(self, session: Session) -> set[int]:
        if self._account_id is None:
            return set()
        return set(session.scalars(select(models.DashboardFavorite.dashboard_id).where(
            models.DashboardFavorite.service_account_id == self._account_id)))

    def _ids_where(self, report_id: int, keep: Any) -> list[int]:
        with self._store.reading() as session:
            self._report(session, report_id)
            links = set(session.scalars(select(models.DashboardCard.dashboard_id).where(
                models.DashboardCard.report_id == report_id)))
            home = session.get(models.Report, report_id)
            if home is not None and home.dashboard_id is not None:
                links.add(home.dashboard_id)
            rows = session.scalars(select(models.Dashboard).where(models.Dashboard.project_id == self._project_id)
                                   .order_by(models.Dashboard.id))
            return [row.id for row in rows if self._visible(row) and keep(row, links)]

    def _add_row(self, session: Session, dashboard: models.Dashboard, contents: list[NewContent],
                 actor: Actor) -> None:
        placed = [self._place(session, dashboard, content, actor) for content in contents]
        shown = set(layouts.contents(_layout(dashboard)))
        if any(item in shown for item in placed):
            raise ValidationError("that report is already on the dashboard")
        dashboard.layout = json.dumps(layouts.with_row(_layout(dashboard), placed))

    def _place(self, session: Session, dashboard: models.Dashboard, content: NewContent,
               actor: Actor) -> layouts.Content:
        if isinstance(content, NewText):
            return "text", self._card(session, dashboard, kind="text", markdown=content.markdown)
        if isinstance(content, NewLink):
            self._report(session, content.report_id)
            return "report-link", self._card(session, dashboard, kind="report-link", report_id=content.report_id,
                                             link_type=content.link_type)
        if isinstance(content, CopyReport):
            source = self._report(session, content.source_id)
            shown = layouts.contents(_layout(dashboard))
            if source.dashboard_id == dashboard.id and ("report", source.id) not in shown:
                return "report", source.id
            fields = {key: getattr(source, key) for key in ("type", "name", "description", "icon")}
            return "report", self._new_report(session, dashboard, {**fields, "params": json.loads(source.params)},
                                              actor)
        return "report", self._new_report(session, dashboard, content.fields, actor)

    def _new_report(self, session: Session, dashboard: models.Dashboard, fields: dict[str, Any],
                    actor: Actor) -> int:
        return add_report(session, self._project_id,
                          {"workspace_id": dashboard.workspace_id, **fields, "dashboard_id": dashboard.id}, actor).id

    def _card(self, session: Session, dashboard: models.Dashboard, **values: Any) -> int:
        card = models.DashboardCard(dashboard_id=dashboard.id, **values)
        session.add(card)
        session.flush()
        return card.id

    def _copy_of(self, session: Session, content_type: str, content_id: int) -> NewContent:
        if content_type == "report":
            return CopyReport(content_id)
        card = session.get(models.DashboardCard, content_id)
        if card is None:
            raise NotFoundError(f"no card {content_id}")
        if card.kind == "text":
            return NewText(card.markdown or "")
        return NewLink(card.report_id or 0, card.link_type or "")

    def _record(self, session: Session, row: models.Dashboard, favorited: bool, *,
                with_contents: bool) -> Dashboard:
        reports: list[Report] = []
        cards: list[Card] = []
        if with_contents:
            shown = layouts.contents(_layout(row))
            report_ids = [content_id for kind, content_id in shown if kind == "report"]
            reports = [report_record(r) for r in session.scalars(
                select(models.Report).where(models.Report.id.in_(report_ids)).order_by(models.Report.id))]
            cards = [Card(c.id, c.kind, c.markdown, c.report_id, c.link_type) for c in session.scalars(
                select(models.DashboardCard).where(models.DashboardCard.dashboard_id == row.id)
                .order_by(models.DashboardCard.id))]
        settings = {key: json.loads(getattr(row, key)) if key in JSON_SETTINGS else getattr(row, key)
                    for key in SETTINGS}
        return Dashboard(row.id, row.project_id, row.workspace_id, settings, _layout(row), row.generation_type,
                         row.template_type, None if row.blueprint_variables is None
                         else json.loads(row.blueprint_variables), row.pinned_at,
                         Actor(row.creator_id, row.creator_name),
                         Actor(row.last_modified_by_id, row.last_modified_by_name), row.created_at,
                         row.modified_at, favorited, reports, cards)

    def _full(self, session: Session, row: models.Dashboard) -> Dashboard:
        session.flush()
        return self._record(session, row, row.id in self._favorites(session), with_contents=True)


def _layout(row: models.Dashboard) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(row.layout)
    return value


def _setting_columns(settings: dict[str, Any]) -> dict[str, Any]:
    return {key: json.dumps(value) if key in JSON_SETTINGS else value for key, value in settings.items()}


def _touch(row: models.Dashboard, actor: Actor) -> None:
    row.modified_at = datetime.now(UTC)
    row.last_modified_by_id, row.last_modified_by_name = actor.id, actor.name
