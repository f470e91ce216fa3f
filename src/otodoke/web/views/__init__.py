"""Views of the staff UI, one module per area. Each is thin: parse, call a service, render."""
