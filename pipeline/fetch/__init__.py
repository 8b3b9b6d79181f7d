"""Stage 1, fetch: download a page politely (rate limits, robots.txt, the network guard) and
keep its bytes, decoded once."""
