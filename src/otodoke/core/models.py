# The core app holds no models: it is the home of the settings helpers, the keys and the
# commands that run Otodoke (serve, worker, demo, init, workspace).
