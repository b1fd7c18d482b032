"""Collectors: sources of raw mention records (file replay now; platform APIs later)."""

from monitor.collectors.base import RawRecord
from monitor.collectors.file_replay import read_records

__all__ = ["RawRecord", "read_records"]
