"""Python checks for what a pack cannot say."""
