"""Annotations and their tags in the metadata store (SQLAlchemy; every value bound)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mixhouse.errors import ValidationError
from mixhouse.meta import models
from mixhouse.meta.store import MetaStore


@dataclass(frozen=True, slots=True)
class Tag:
    id: int
    project_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Annotation:
    id: int
    project_id: int
    date: str
    description: str
    tags: tuple[Tag, ...]


class Annotations:
    """One project's annotations; every read and write is scoped to ``project_id``."""

    def __init__(self, store: MetaStore, project_id: int) -> None:
        self._store = store
        self._project_id = project_id

    def _tags_of(self, session: Session, annotation_ids: Sequence[int]) -> dict[int, list[Tag]]:
        found: dict[int, list[Tag]] = {aid: [] for aid in annotation_ids}
        if not annotation_ids:
            return found
        rows = session.execute(
            select(models.AnnotationTagLink.annotation_id, models.AnnotationTag)
            .join(models.AnnotationTag, models.AnnotationTag.id == models.AnnotationTagLink.tag_id)
            .where(models.AnnotationTagLink.annotation_id.in_(annotation_ids))
            .order_by(models.AnnotationTag.id)
        )
        for annotation_id, tag in rows:
            found[annotation_id].append(Tag(tag.id, tag.project_id, tag.name))
        return found

    def _check_tags(self, session: Session, tag_ids: Sequence[int]) -> None:
        if not tag_ids:
            return
        known = set(session.scalars(
            select(models.AnnotationTag.id).where(
                models.AnnotationTag.project_id == self._project_id, models.AnnotationTag.id.in_(tag_ids)
            )
        ))
        missing = sorted(set(tag_ids) - known)
        if missing:
            raise ValidationError(f"unknown annotation tags {missing}")

    def find(self, *, from_date: str | None, to_date: str | None, tag_ids: Sequence[int]) -> list[Annotation]:
        """Oldest first; ``from_date``/``to_date`` (``YYYY-MM-DD``) bound the day, inclusive; with ``tag_ids``,
        annotations carrying any of them."""
        with self._store.reading() as session:
            query = select(models.Annotation).where(models.Annotation.project_id == self._project_id)
            if from_date:
                query = query.where(models.Annotation.date >= from_date)
            if to_date:
                query = query.where(models.Annotation.date < to_date + "~")  # any time on to_date
            if tag_ids:
                tagged = select(models.AnnotationTagLink.annotation_id).where(
                    models.AnnotationTagLink.tag_id.in_(list(tag_ids))
                )
                query = query.where(models.Annotation.id.in_(tagged))
            rows = list(session.scalars(query.order_by(models.Annotation.date, models.Annotation.id)))
            tags = self._tags_of(session, [row.id for row in rows])
            return [self._record(row, tags[row.id]) for row in rows]

    def get(self, annotation_id: int) -> Annotation | None:
        with self._store.reading() as session:
            row = session.get(models.Annotation, annotation_id)
            if row is None or row.project_id != self._project_id:
                return None
            return self._record(row, self._tags_of(session, [row.id])[row.id])

    def create(self, date: str, description: str, tag_ids: Sequence[int], user_id: int | None) -> Annotation:
        with self._store.writing() as session:
            self._check_tags(session, tag_ids)
            row = models.Annotation(project_id=self._project_id, date=date, description=description, user_id=user_id)
            session.add(row)
            session.flush()
            session.add_all(models.AnnotationTagLink(annotation_id=row.id, tag_id=t) for t in dict.fromkeys(tag_ids))
            session.flush()
            return self._record(row, self._tags_of(session, [row.id])[row.id])

    def update(self, annotation_id: int, description: str | None, tag_ids: Sequence[int] | None) -> Annotation | None:
        with self._store.writing() as session:
            row = session.get(models.Annotation, annotation_id)
            if row is None or row.project_id != self._project_id:
                return None
            if description is not None:
                row.description = description
            if tag_ids is not None:
                self._check_tags(session, tag_ids)
                session.execute(delete(models.AnnotationTagLink).where(
                    models.AnnotationTagLink.annotation_id == annotation_id))
                session.add_all(models.AnnotationTagLink(annotation_id=annotation_id, tag_id=t)
                                for t in dict.fromkeys(tag_ids))
            session.flush()
            return self._record(row, self._tags_of(session, [row.id])[row.id])

    def delete(self, annotation_id: int) -> bool:
        return self._store.delete_in_project(models.Annotation, annotation_id, self._project_id)

    def tags(self) -> list[Tag]:
        with self._store.reading() as session:
            rows = session.scalars(select(models.AnnotationTag).where(
                models.AnnotationTag.project_id == self._project_id).order_by(models.AnnotationTag.id))
            return [Tag(row.id, row.project_id, row.name) for row in rows]

    def create_tag(self, name: str) -> Tag:
        """The project's tag of that name, made if it is new."""
        with self._store.writing() as session:
            row = session.scalar(select(models.AnnotationTag).where(
                models.AnnotationTag.project_id == self._project_id, models.AnnotationTag.name == name))
            if row is None:
                row = models.AnnotationTag(project_id=self._project_id, name=name)
                session.add(row)
                session.flush()
            return Tag(row.id, row.project_id, row.name)

    @staticmethod
    def _record(row: models.Annotation, tags: Sequence[Tag]) -> Annotation:
        return Annotation(row.id, row.project_id, row.date, row.description, tuple(tags))
