"""The task page (/tasks/{id}) and its monthly report form, with a drawn built section and evidence files."""
