"""The case list (issue 16): GET /cases with filters, paging and a clustered map of the filtered cases."""
