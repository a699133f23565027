"""What operators manage, for the operator API, the console and the CLI: organisations,
operators and API keys (:mod:`.accounts`), and campaigns kept in the database
(:mod:`.campaigns`). Every function takes the organisation it acts for; nothing here
reaches another organisation's rows."""
