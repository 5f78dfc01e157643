in a subdirectory: ignored
