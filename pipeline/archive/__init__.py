"""Web archives: pages read out of WARC files (:mod:`pipeline.archive.warc`)."""
