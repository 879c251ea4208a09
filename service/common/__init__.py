"""Shared pieces every area may use: Chinese CRS and text, spreadsheets, upload safety, audit."""
