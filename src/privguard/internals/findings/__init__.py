"""The findings stage."""
