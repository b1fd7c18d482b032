"""Alerting: decide on alert events, render the message, deliver it through Apprise."""
