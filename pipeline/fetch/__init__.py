"""Stage 1, fetch: download a page politely (rate limits, robots.txt, the network guard) and
keep its bytes, decoded once. :mod:`pipeline.fetch.fetcher` is the way in, for workers and
for commands alike; the modules beside it each keep one rule."""
