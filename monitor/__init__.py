"""stormwatch service: collectors, pipeline, storage, alerting, web and command line."""

__version__ = "0.1.0"
