"""Stage 2, clean: strip everything that is not the article, from HTML or plain text."""
