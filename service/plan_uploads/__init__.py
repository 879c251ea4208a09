"""The office's plan spreadsheet from the browser: read it as written, preview what it changes, commit it whole."""
