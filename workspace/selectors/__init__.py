"""Reads of the customer manager's workspace (SPEC §5, §6), one module per page concern:
next_due, portfolio, todo, trends, next_best, scorecards. Each read is a fixed number of
queries, whatever the size of the portfolio, with the work done in SQL (annotations,
subqueries, GROUP BY), never in a Python loop over customers."""
