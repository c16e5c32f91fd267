print("products-api: not built yet")
