"""The shipped taxonomy (categories, departments, deadlines), replaceable by a district's file."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import yaml

from bot import settings

DEFAULT_FILE = settings.DEFAULT_TAXONOMY
URGENCIES = ("emergency", "hazard", "normal")


@dataclass(frozen=True)
class Department:
    id: str
    name: str


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    department_id: str
    deadline_days: int
    # Departments that usually assist (协办) with this category; proposed when a ticket is dispatched.
    assisting: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    departments: Dict[str, Department]
    categories: Dict[str, Category]
    urgency_names: Dict[str, str]
    urgency_deadline_days: Dict[str, Optional[int]]

    def deadline_days(self, category_id: str, urgency: str) -> int:
        """Working days to the deadline: an urgency's own deadline wins when it is shorter."""
        days = self.categories[category_id].deadline_days
        urgent = self.urgency_deadline_days.get(urgency)
        return min(days, urgent) if urgent is not None else days

    def department_of(self, category_id: str) -> Department:
        return self.departments[self.categories[category_id].department_id]


def load(path: Optional[str] = None) -> Taxonomy:
    """The taxonomy of MINSHENG_TAXONOMY_FILE (default: the shipped one), read once per file."""
    return _load(path or str(settings.load().taxonomy_file))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Taxonomy:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    departments = {k: Department(k, v["name"]) for k, v in raw["departments"].items()}
    categories = {}
    for key, value in raw["categories"].items():
        if value["department"] not in departments:
            raise ValueError(f"category {key}: unknown department {value['department']}")
        assisting = tuple(value.get("assisting") or ())
        for department in assisting:
            if department not in departments:
                raise ValueError(f"category {key}: unknown assisting department {department}")
        categories[key] = Category(key, value["name"], value["department"], int(value["deadline_days"]), assisting)
    urgency = raw.get("urgency", {})
    names = {u: urgency.get(u, {}).get("name", u) for u in URGENCIES}
    days = {u: urgency.get(u, {}).get("deadline_days") for u in URGENCIES}
    return Taxonomy(departments, categories, names, days)
