"""Client-side read models of the services' public API answers, shared by the clients of
that API (the bilan, the portal): one model per answer, with every field some client reads."""
