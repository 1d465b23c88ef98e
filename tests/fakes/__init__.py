"""Protocol-faithful stand-ins for services that cannot be reached offline."""
