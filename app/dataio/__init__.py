"""Customers in and out of files: the layouts (:mod:`app.dataio.layout`), readers and writers."""
