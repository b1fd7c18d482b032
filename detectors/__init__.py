"""stormwatch analysis library: text classifiers, online anomaly detectors and storm scoring."""
