"""Feeds and sitemaps: RSS, Atom, JSON Feed, sitemaps and feed discovery."""
