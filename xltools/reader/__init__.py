"""Any input -> RawForm -> (cleaning + rules) -> Report."""
