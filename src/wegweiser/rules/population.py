"""Persons grouped by household. Persons are stored household after household, so summing over a
household is one ``np.add.reduceat`` and projecting a household value onto its persons one gather:
the same code for one household and for millions."""

from __future__ import annotations

from typing import Any

import numpy as np

from wegweiser.rules.errors import InputError

PERSON = "person"
HOUSEHOLD = "household"
ENTITIES = (PERSON, HOUSEHOLD)

Array = np.ndarray[Any, Any]


class Population:
    def __init__(self, person_household: Array, n_households: int) -> None:
        """``person_household``: for each person, the index (0 … n_households-1) of its household
        (int32 or int64), non-decreasing, every household with at least one person."""
        array = np.asarray(person_household)
        self.person_household = array if array.dtype in (np.int32, np.int64) else array.astype(np.int64)
        self.n_households = int(n_households)
        self.n_persons = int(self.person_household.shape[0])
        sizes = np.bincount(self.person_household, minlength=self.n_households)
        if sizes.shape[0] != self.n_households or (self.n_households and sizes.min() == 0):
            raise InputError("every household needs at least one person", field="persons",
                             code="no_persons")
        self.sizes = sizes.astype(np.int64, copy=False)
        self.starts = np.zeros(self.n_households, dtype=np.int64)
        np.cumsum(self.sizes[:-1], out=self.starts[1:])

    @classmethod
    def single(cls, n_persons: int) -> Population:
        return cls(np.zeros(n_persons, dtype=np.int64), 1)

    def count(self, entity: str) -> int:
        return self.n_persons if entity == PERSON else self.n_households

    def sum(self, values: Any) -> Array:
        """Per household, the sum over its persons (int64; booleans are counted)."""
        array = np.asarray(values)
        if array.ndim == 0:
            return self.sizes * array.astype(np.int64)
        if self.n_persons == self.n_households:  # one person each: nothing to add
            return array.astype(np.int64, copy=False)
        if array.dtype == np.bool_:  # counting: only the marked persons' households are touched
            return np.bincount(self.person_household[array], minlength=self.n_households)
        # dtype=int64 adds small integers and booleans without a person-sized int64 copy.
        return np.add.reduceat(array, self.starts, dtype=np.int64)

    def any(self, mask: Any) -> Array:
        return self.sum(mask) > 0

    def project(self, household_values: Any) -> Array:
        """Each person gets the value of their household."""
        array = np.asarray(household_values)
        if array.ndim == 0 or self.n_persons == self.n_households:
            return np.broadcast_to(array, (self.n_persons,)) if array.ndim == 0 else array
        return array[self.person_household]

    def rank(self, mask: Any) -> Array:
        """For persons where ``mask`` holds, their 0-based order among such persons in their
        household (in input order); -1 elsewhere. int32: a household has far fewer than 2³¹
        persons, and a million households' ranks then take half the memory."""
        flags = np.asarray(mask, dtype=bool)
        running = np.cumsum(flags, dtype=np.int32)
        before = running[self.starts] - flags[self.starts]  # masked persons in earlier households
        running -= 1
        running -= self.project(before)
        running[~flags] = -1
        return running
