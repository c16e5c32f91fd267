print("pulsar-cli: not built yet")
