"""Stage 3, extract: the structured article, its title, authors, agencies and dates."""
