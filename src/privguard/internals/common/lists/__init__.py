"""Attorney directories, do-not-record registries and review sheets, read one way for all."""
