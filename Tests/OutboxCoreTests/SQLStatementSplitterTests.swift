import Testing
@testable import OutboxCore

@Suite struct SQLStatementSplitterTests {
    @Test func splitsOnTopLevelSemicolons() {
        #expect(SQLStatementSplitter.split("CREATE TABLE a (x int);\nCREATE INDEX i ON a (x);\n") == [
            "CREATE TABLE a (x int)", "CREATE INDEX i ON a (x)",
        ])
    }

    @Test func keepsQuotedAndDollarQuotedSemicolons() {
        let sql = """
            -- a comment; with a semicolon
            INSERT INTO t VALUES ('a;b', 'it''s;');
            DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;
            CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $fn$ LANGUAGE sql;
            /* block; comment */ SELECT "odd;name" FROM t;
            """
        let statements = SQLStatementSplitter.split(sql)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("VALUES ('a;b', 'it''s;')"))
        #expect(statements[1] == "DO $$ BEGIN PERFORM 1; PERFORM 2; END $$")
        #expect(statements[2].contains("$fn$ SELECT 1; $fn$"))
        #expect(statements[3].contains("\"odd;name\""))
    }

    @Test func dropsCommentOnlyTail() {
        #expect(SQLStatementSplitter.split("SELECT 1;\n-- trailing\n") == ["SELECT 1"])
    }

    @Test func positionalParametersAreNotDollarQuotes() {
        #expect(SQLStatementSplitter.split("SELECT $1; SELECT $2") == ["SELECT $1", "SELECT $2"])
    }
}
