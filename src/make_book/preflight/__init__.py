"""Reading a finished PDF and listing every way it breaks a print profile's rules."""
