"""Sources: the feeds and sitemaps newsflow polls, and what each poll finds."""
