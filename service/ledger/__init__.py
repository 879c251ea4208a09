"""The ledger (台账, issue #15): every task of a plan with its derived state as of a month, filtered, exported."""
