"""The `cma` operator command: migrate, serve, replay, asyncapi, and run (which hands over to
the local launcher, `services.launcher`). It reads the services from the registry
(`services.runtime.registry`); the service library never imports it."""
