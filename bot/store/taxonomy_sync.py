"""Loads the shipped (or a district's) taxonomy into the departments and categories tables."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.store.schema import Category, Department
from bot.taxonomy import Taxonomy


def sync_taxonomy(session: Session, taxonomy: Taxonomy) -> None:
    for dept in taxonomy.departments.values():
        row = session.get(Department, dept.id)
        if row is None:
            session.add(Department(id=dept.id, name=dept.name))
        else:
            row.name = dept.name
    session.flush()
    for cat in taxonomy.categories.values():
        row = session.get(Category, cat.id)
        if row is None:
            session.add(
                Category(id=cat.id, name=cat.name, department_id=cat.department_id, deadline_days=cat.deadline_days)
            )
        else:
            row.name, row.department_id, row.deadline_days = cat.name, cat.department_id, cat.deadline_days
