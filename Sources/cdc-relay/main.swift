print("cdc-relay: not built yet")
