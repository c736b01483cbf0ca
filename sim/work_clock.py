"""The district's working calendar over whole arrays (numpy), for generating years of tickets."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dispatch.calendar import WorkCalendar


class WorkClock:
    """The district's working calendar over whole arrays: instants (UTC seconds) to working
    minutes since the first day and back; agrees with WorkCalendar to the second."""

    def __init__(self, calendar: WorkCalendar, first: dt.date, last: dt.date):
        days = pd.date_range(first, last, freq="D")
        zone = calendar.zone

        def at(clock: dt.time) -> np.ndarray:
            return np.array([dt.datetime.combine(d.date(), clock, zone).timestamp() for d in days])

        self.midnight = at(dt.time(0))
        self.open, close = at(calendar.start), at(calendar.end)
        work = np.array([calendar.is_workday(d.date()) for d in days])
        self.length = np.where(work, (close - self.open) / 60, 0.0)
        self.cum = np.concatenate([[0.0], np.cumsum(self.length)[:-1]])
        self.cum_end = self.cum + self.length

    def to_work(self, seconds: np.ndarray) -> np.ndarray:
        """Working minutes from the first day to each instant."""
        day = np.searchsorted(self.midnight, seconds, side="right") - 1
        within = np.clip((seconds - self.open[day]) / 60, 0, self.length[day])
        return self.cum[day] + within

    def from_work(self, minutes: np.ndarray) -> np.ndarray:
        """The instant (UTC seconds) each count of working minutes is reached."""
        day = np.searchsorted(self.cum_end, minutes, side="left")
        day = np.minimum(day, len(self.cum) - 1)
        return self.open[day] + (minutes - self.cum[day]) * 60
