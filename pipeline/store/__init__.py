"""The store: tables, sessions and the functions that read and write them."""
