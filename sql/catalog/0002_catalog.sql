-- catalog-projector's read model, filled from product.created events.
CREATE TABLE catalog_products (
    product_id bigint        PRIMARY KEY,
    name       text          NOT NULL,
    category   text          NOT NULL,
    price      numeric(12,2) NOT NULL,
    stock      bigint        NOT NULL,
    event_id   bigint        NOT NULL
);

-- Each event adds to its category's figures, so a duplicate event would show here.
CREATE TABLE catalog_category_stats (
    category text   PRIMARY KEY,
    products bigint NOT NULL,
    stock    bigint NOT NULL
);
