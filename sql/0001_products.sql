-- Products, the aggregate the API creates. Limits mirror the API's validation so a row that
-- slipped past it is still refused by the database.
CREATE TABLE products (
    id          bigint PRIMARY KEY,
    name        text           NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description text           CHECK (description IS NULL OR char_length(description) <= 5000),
    price       numeric(12, 2) NOT NULL CHECK (price >= 0),
    stock       integer        NOT NULL CHECK (stock >= 0),
    category    text           CHECK (category IS NULL OR char_length(category) <= 100),
    created_at  timestamptz    NOT NULL DEFAULT now(),
    updated_at  timestamptz    NOT NULL DEFAULT now()
);
