"""The web UI: incident pages behind the alert links, playbooks, metrics."""
