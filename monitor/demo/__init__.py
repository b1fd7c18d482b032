"""Bundled German demo stream of the fictional city of Birkenfelde and a synthetic stream generator."""
