"""The portal: the platform's web front, a client of the four services' public APIs."""
