"""The WARC fields of newsflow's own, which its exports write and its ingest reads back."""

# What the page was before it was exported: fetched here, or read from another archive.
ORIGIN_HEADER = "Newsflow-Origin"
FETCHED = "fetched"
ARCHIVE_PREFIX = "archive "
# What a feed said of the item (a FeedEntry, as JSON on one line).
ENTRY_HEADER = "Newsflow-Entry"
